package io.ktls.examples.stream;

import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The deterministic content of generated stream files: byte {@code o} of the file is byte {@code o & 7}
 * (little-endian) of {@code splitmix64(o >>> 3)}. No period shorter than the file, so a lost, repeated
 * or reordered record shows up as a mismatch at the first byte it touches.
 */
final class StreamPattern {

    /** Size of each write while generating: large enough to stream, small enough to stay in cache. */
    private static final int WRITE_BYTES = 1 << 20;

    private StreamPattern() {
    }

    /** SplitMix64 (Steele, Lea, Flood 2014) of a word index. */
    static long word(long index) {
        long z = (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static byte at(long offset) {
        return (byte) (word(offset >>> 3) >>> ((offset & 7) << 3));
    }

    /** Writes {@code size} bytes of the pattern to {@code file}, replacing what was there. */
    static void generate(Path file, long size) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long offset = 0;
            while (offset < size) {
                buffer.clear();
                int n = (int) Math.min(WRITE_BYTES, size - offset);
                for (int i = 0; i < n; i += 8) {
                    buffer.putLong(word((offset + i) >>> 3)); // offset is a multiple of WRITE_BYTES
                }
                buffer.flip().limit(n);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
                offset += n;
            }
        }
    }

    /**
     * Checks a received buffer against the pattern, without consuming it.
     *
     * @param streamOffset bytes of the stream received before {@code buf}
     * @param period       bytes of the file streamed per repetition
     * @return the stream offset of the first mismatch, or -1 when every byte matches
     */
    static long verify(ByteBuf buf, long streamOffset, long period) {
        int start = buf.readerIndex();
        int end = buf.writerIndex();
        long fileOffset = streamOffset % period;
        long wordIndex = -1;
        long word = 0;
        for (int i = start; i < end; i++) {
            long w = fileOffset >>> 3;
            if (w != wordIndex) {
                wordIndex = w;
                word = word(w);
            }
            if (buf.getByte(i) != (byte) (word >>> ((fileOffset & 7) << 3))) {
                return streamOffset + (i - start);
            }
            if (++fileOffset == period) {
                fileOffset = 0;
            }
        }
        return -1;
    }
}
