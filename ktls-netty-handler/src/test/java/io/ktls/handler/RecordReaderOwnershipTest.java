package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Opening in place writes plaintext over the ciphertext it arrived in: only into memory that belongs to the read
 * buffer alone. A record handed in over memory someone else keeps (a wrapped {@code ByteBuffer}) is copied first.
 */
class RecordReaderOwnershipTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;

    @Test
    void wrappedByteBufferIsOpenedFromACopy() throws Exception {
        byte[] payload = payload();
        byte[] record = seal(payload);
        ByteBuffer wire = ByteBuffer.allocateDirect(record.length);
        wire.put(record).flip();
        byte[] opened = open(Unpooled.wrappedBuffer(wire.duplicate()), -1);
        assertArrayEquals(payload, opened);
        byte[] after = new byte[record.length];
        wire.duplicate().get(after);
        assertArrayEquals(record, after, "the caller's memory was decrypted where it lies");
    }

    @Test
    void allocatorMadeReadBufferIsOpenedInPlace() throws Exception {
        byte[] payload = payload();
        byte[] record = seal(payload);
        ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(record.length).writeBytes(record);
        long address = read.memoryAddress();
        assertArrayEquals(payload, open(read, address));
    }

    /** Opens the one record in {@code in}; with {@code expectedAddress} >= 0, checks the plaintext lies there. */
    private static byte[] open(ByteBuf in, long expectedAddress) throws Exception {
        try (TrafficKeys keys = keys(); RecordReader reader = new RecordReader(RecordCipher.create(keys), 0,
                UnpooledByteBufAllocator.DEFAULT, new KtlsStats())) {
            reader.add(in);
            RecordReader.Opened opened = reader.next();
            try {
                assertEquals(TlsRecords.APPLICATION_DATA, opened.contentType);
                if (expectedAddress >= 0) {
                    assertEquals(expectedAddress, opened.plaintext.memoryAddress(), "opened where it arrived");
                }
                byte[] bytes = new byte[opened.plaintext.readableBytes()];
                opened.plaintext.getBytes(opened.plaintext.readerIndex(), bytes);
                return bytes;
            } finally {
                opened.plaintext.release();
            }
        }
    }

    private static byte[] seal(byte[] payload) {
        try (TrafficKeys keys = keys()) {
            RecordCipher cipher = RecordCipher.create(keys);
            ByteBuffer out = ByteBuffer.allocate(cipher.recordLength(payload.length));
            cipher.sealRecord(0, TlsRecords.APPLICATION_DATA, ByteBuffer.wrap(payload), out);
            cipher.close();
            return out.array();
        }
    }

    private static TrafficKeys keys() {
        byte[] secret = new byte[SUITE.hashLength()];
        Arrays.fill(secret, (byte) 7);
        return TrafficKeys.tls13(SUITE, secret);
    }

    private static byte[] payload() {
        byte[] payload = new byte[3000];
        new Random(11).nextBytes(payload);
        return payload;
    }
}
