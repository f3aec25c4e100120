package io.ktls.handler.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The bytes every interop transfer carries: a deterministic pattern that both ends can regenerate from its
 * length alone, so that a transfer is checked by comparing SHA-256 digests instead of keeping copies.
 *
 * <p>Byte {@code i} of a payload is {@code BLOCK[i % BLOCK.length]}, where {@code BLOCK} holds pseudo-random
 * bytes from a fixed seed. The block length is a prime (65521), so the pattern never lines up with record
 * (16 KiB) or chunk boundaries: a record that is dropped, repeated or reordered changes the digest.
 */
final class Payload {

    /** 0, 1, one byte short of a full record, exactly one record, one byte over, and many records plus a tail. */
    static final List<Long> STANDARD_SIZES = List.of(0L, 1L, 16383L, 16384L, 16385L, (1L << 20) + 7);
    /** Long enough to cross many flow-control pauses, rekey-free limits aside; costs ~1 s per transfer. */
    static final long HUGE_SIZE = 100L << 20;

    private static final int BLOCK_LENGTH = 65521;
    private static final byte[] BLOCK = new byte[BLOCK_LENGTH];
    /** Size of the chunks producers hand to the pipeline: four records, large enough to keep loops cheap. */
    static final int CHUNK_BYTES = 64 * 1024;

    private static final Map<Long, String> SHA256_BY_SIZE = new ConcurrentHashMap<>();

    static {
        SplittableRandom random = new SplittableRandom(0x6b746c73L);
        for (int i = 0; i < BLOCK_LENGTH; i++) {
            BLOCK[i] = (byte) random.nextInt(256);
        }
    }

    private Payload() {
    }

    /** Hex SHA-256 of the payload of {@code size} bytes, computed once per size. */
    static String sha256Hex(long size) {
        return SHA256_BY_SIZE.computeIfAbsent(size, s -> {
            MessageDigest digest = newSha256();
            byte[] chunk = new byte[CHUNK_BYTES];
            for (long offset = 0; offset < s; ) {
                int length = (int) Math.min(chunk.length, s - offset);
                copy(offset, chunk, 0, length);
                digest.update(chunk, 0, length);
                offset += length;
            }
            return HexFormat.of().formatHex(digest.digest());
        });
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Copies payload bytes {@code [offset, offset + length)} into {@code dst}. */
    static void copy(long offset, byte[] dst, int dstIndex, int length) {
        int blockIndex = (int) (offset % BLOCK_LENGTH);
        while (length > 0) {
            int n = Math.min(length, BLOCK_LENGTH - blockIndex);
            System.arraycopy(BLOCK, blockIndex, dst, dstIndex, n);
            dstIndex += n;
            length -= n;
            blockIndex = 0;
        }
    }

    /** Appends payload bytes {@code [offset, offset + length)} to {@code dst}. */
    static void write(long offset, ByteBuf dst, int length) {
        int blockIndex = (int) (offset % BLOCK_LENGTH);
        while (length > 0) {
            int n = Math.min(length, BLOCK_LENGTH - blockIndex);
            dst.writeBytes(BLOCK, blockIndex, n);
            length -= n;
            blockIndex = 0;
        }
    }

    /** Writes the whole payload of {@code size} bytes to {@code out} (a peer process's standard input). */
    static void writeTo(OutputStream out, long size) throws IOException {
        byte[] chunk = new byte[CHUNK_BYTES];
        for (long offset = 0; offset < size; ) {
            int length = (int) Math.min(chunk.length, size - offset);
            copy(offset, chunk, 0, length);
            out.write(chunk, 0, length);
            offset += length;
        }
    }

    /** The payload of {@code size} bytes as a stream (the JDK HttpClient's request body). */
    static InputStream newInputStream(long size) {
        return new InputStream() {
            private long position;

            @Override
            public int read() {
                if (position >= size) {
                    return -1;
                }
                byte[] one = new byte[1];
                copy(position++, one, 0, 1);
                return one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (position >= size) {
                    return -1;
                }
                int n = (int) Math.min(len, size - position);
                copy(position, b, off, n);
                position += n;
                return n;
            }
        };
    }

    /** The payload of {@code size} bytes as chunks for {@code ChunkedWriteHandler}, read as the channel drains. */
    static ChunkedInput<ByteBuf> newChunkedInput(long size) {
        return new ChunkedInput<>() {
            private long position;

            @Override
            public boolean isEndOfInput() {
                return position >= size;
            }

            @Override
            public void close() {
            }

            @Deprecated
            @Override
            public ByteBuf readChunk(ChannelHandlerContext ctx) {
                return readChunk(ctx.alloc());
            }

            @Override
            public ByteBuf readChunk(ByteBufAllocator allocator) {
                if (isEndOfInput()) {
                    return null;
                }
                int length = (int) Math.min(CHUNK_BYTES, size - position);
                ByteBuf chunk = allocator.buffer(length);
                write(position, chunk, length);
                position += length;
                return chunk;
            }

            @Override
            public long length() {
                return size;
            }

            @Override
            public long progress() {
                return position;
            }
        };
    }

    /** A short human label for a size, used in test names: "16385 B", "1 MiB + 7 B", "100 MiB". */
    static String label(long size) {
        if (size >= (1L << 20)) {
            long mib = size >> 20;
            long rest = size - (mib << 20);
            return rest == 0 ? mib + " MiB" : mib + " MiB + " + rest + " B";
        }
        return size + " B";
    }
}
