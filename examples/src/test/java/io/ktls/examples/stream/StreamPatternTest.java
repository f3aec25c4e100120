package io.ktls.examples.stream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamPatternTest {

    @TempDir
    Path dir;

    @Test
    void generatedFileHoldsThePatternByteForByte() throws Exception {
        Path file = dir.resolve("p.bin");
        long size = (1 << 20) + 13; // a partial last write and a partial last word
        StreamPattern.generate(file, size);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(size, bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != StreamPattern.at(i)) {
                throw new AssertionError("byte " + i);
            }
        }
    }

    @Test
    void verifyFollowsTheStreamAcrossRepetitions() {
        long period = 1001;
        ByteBuf stream = Unpooled.buffer(3000);
        for (long offset = 0; offset < 3000; offset++) {
            stream.writeByte(StreamPattern.at(offset % period));
        }
        try {
            assertEquals(-1, StreamPattern.verify(stream, 0, period));
            // Read in two pieces, as records arrive.
            assertEquals(-1, StreamPattern.verify(stream.slice(0, 1234), 0, period));
            assertEquals(-1, StreamPattern.verify(stream.slice(1234, 3000 - 1234), 1234, period));
            assertEquals(0, stream.readerIndex(), "verify does not consume");
        } finally {
            stream.release();
        }
    }

    @Test
    void verifyReportsTheFirstWrongByte() {
        ByteBuf stream = Unpooled.buffer(4096);
        for (long offset = 0; offset < 4096; offset++) {
            stream.writeByte(StreamPattern.at(offset));
        }
        try {
            stream.setByte(2049, stream.getByte(2049) ^ 1);
            assertEquals(2049, StreamPattern.verify(stream, 0, 1 << 20));
            // The same bytes shifted by one record (a lost or repeated record) fail at once.
            long shifted = StreamPattern.verify(stream.slice(0, 1000), 8, 1 << 20);
            assertTrue(shifted >= 8 && shifted < 16, "mismatch at " + shifted);
        } finally {
            stream.release();
        }
    }
}
