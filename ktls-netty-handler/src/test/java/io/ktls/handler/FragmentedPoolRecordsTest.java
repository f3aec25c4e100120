package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultFileRegion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A page-run pool with the composite fallback, cut into single free pages, answers a multi-page
 * {@code directBuffer} with a composite of pages, whose NIO view is a copy. The record layer writes through such
 * views (a seal's output, a record opened in place, a file chunk read), so it must never be given that memory: a
 * record sealed into it left carrying the pages' old bytes, and its peer answered {@code bad_record_mac} (seen
 * under 10,000 connections with a 256 MiB heap, where the pool ran short). See {@link ContiguousMemory}.
 */
class FragmentedPoolRecordsTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private FragmentedPool fragmented;
    private PageRunAllocator pool;

    /**
     * Built with the composite fallback, which a pool offers only when asked: the record layer must hold whatever
     * its allocator gives.
     */
    @BeforeEach
    void fragmentThePool() {
        fragmented = new FragmentedPool("fragmented", true);
        pool = fragmented.allocator;
        ByteBuf probe = pool.directBuffer(16384);
        try {
            assertTrue(probe.nioBufferCount() > 1, "the pool gives a 4-page request as a composite of pages");
        } finally {
            probe.release();
        }
    }

    @AfterEach
    void closeThePool() {
        fragmented.close();
    }

    @Test
    void recordsSealedWhileThePoolIsFragmentedOpenAtThePeer() throws Exception {
        // 16,362 bytes: header, ciphertext and trailer in one 4-page buffer; 16,384: a 4-page body beside them.
        for (int payloadLength : new int[] {KtlsConfig.DEFAULT_MAX_RECORD_PAYLOAD_BYTES, 16384}) {
            byte[] payload = bytes(payloadLength, payloadLength);
            try (TrafficKeys keys = keys(); RecordEncryptor encryptor = new RecordEncryptor(RecordCipher.create(keys),
                    pool, new KtlsStats())) {
                OutboundRecord record = OutboundRecord.control(0, TlsRecords.APPLICATION_DATA,
                        Unpooled.wrappedBuffer(payload), null);
                encryptor.seal(List.of(record));
                assertEquals(OutboundRecord.State.SEALED, record.state, "sealed: " + record.failure);
                ByteBuf output = record.takeOutput();
                byte[] wire;
                try {
                    wire = ByteBufUtil.getBytes(output);
                } finally {
                    output.release();
                }
                assertArrayEquals(payload, openAtThePeer(wire), payloadLength + "-byte record as its peer opens it");
            }
        }
    }

    @Test
    void aRecordOpenedWhileThePoolIsFragmentedGivesItsPlaintext() throws Exception {
        byte[] payload = bytes(16384, 3);
        byte[] wire = sealAtThePeer(payload);
        try (TrafficKeys keys = keys(); RecordReader reader = new RecordReader(RecordCipher.create(keys), 0, pool,
                new KtlsStats())) {
            // A wrapped array is not ours to decrypt in place: the reader copies it into the pool first.
            reader.add(Unpooled.wrappedBuffer(wire));
            RecordReader.Opened opened = reader.next();
            try {
                assertEquals(TlsRecords.APPLICATION_DATA, opened.contentType);
                assertArrayEquals(payload, ByteBufUtil.getBytes(opened.plaintext));
            } finally {
                opened.plaintext.release();
            }
            assertNull(reader.next());
        }
    }

    @Test
    void aFileChunkReadWhileThePoolIsFragmentedHoldsTheFilesBytes(@TempDir Path dir) throws Exception {
        byte[] content = bytes(16384, 5);
        Path file = Files.write(dir.resolve("chunk.bin"), content);
        FileRegionChunks chunks = new FileRegionChunks(new DefaultFileRegion(file.toFile(), 0, content.length));
        try {
            ByteBuf chunk = chunks.readChunk(pool);
            try {
                assertArrayEquals(content, ByteBufUtil.getBytes(chunk));
            } finally {
                chunk.release();
            }
        } finally {
            chunks.close();
        }
    }

    @Test
    void anAllocatorThatGivesOnlyCompositesFailsTheRecordInsteadOfSendingIt() {
        CompositesOnly alloc = new CompositesOnly();
        try (TrafficKeys keys = keys(); RecordEncryptor encryptor = new RecordEncryptor(RecordCipher.create(keys),
                alloc, new KtlsStats())) {
            OutboundRecord record = OutboundRecord.control(0, TlsRecords.APPLICATION_DATA,
                    Unpooled.wrappedBuffer(bytes(1000, 9)), null);
            encryptor.seal(List.of(record));
            assertEquals(OutboundRecord.State.FAILED, record.state);
            assertNull(record.output, "nothing to write");
            IllegalStateException failure = assertInstanceOf(IllegalStateException.class, record.failure);
            assertTrue(failure.getMessage().contains("contiguous"), failure.getMessage());
        }
        assertTrue(alloc.made.stream().allMatch(b -> b.refCnt() == 0), "every composite it made was released");
    }

    /** Direct buffers of two heap parts each: a composite whatever the size. */
    private static final class CompositesOnly extends AbstractByteBufAllocator {
        final List<ByteBuf> made = new ArrayList<>();

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return Unpooled.buffer(initialCapacity, maxCapacity);
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            CompositeByteBuf composite = Unpooled.compositeBuffer();
            int half = initialCapacity / 2;
            composite.addComponent(Unpooled.buffer(half, half));
            composite.addComponent(Unpooled.buffer(initialCapacity - half, initialCapacity - half));
            made.add(composite);
            return composite;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }

    private static byte[] openAtThePeer(byte[] wire) throws Exception {
        try (TrafficKeys keys = keys()) {
            RecordCipher cipher = RecordCipher.create(keys);
            try {
                ByteBuffer plaintext = ByteBuffer.allocate(cipher.maxOpenedLength(wire.length - 5));
                assertEquals(TlsRecords.APPLICATION_DATA, cipher.open(0, ByteBuffer.wrap(wire), plaintext));
                return Arrays.copyOf(plaintext.array(), plaintext.position());
            } finally {
                cipher.close();
            }
        }
    }

    private static byte[] sealAtThePeer(byte[] payload) {
        try (TrafficKeys keys = keys()) {
            RecordCipher cipher = RecordCipher.create(keys);
            try {
                ByteBuffer out = ByteBuffer.allocate(cipher.recordLength(payload.length));
                cipher.sealRecord(0, TlsRecords.APPLICATION_DATA, ByteBuffer.wrap(payload), out);
                return out.array();
            } finally {
                cipher.close();
            }
        }
    }

    private static TrafficKeys keys() {
        byte[] secret = new byte[SUITE.hashLength()];
        Arrays.fill(secret, (byte) 7);
        return TrafficKeys.tls13(SUITE, secret);
    }

    private static byte[] bytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
