package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How plaintext is cut into records, coalesced and numbered, and when writes complete. */
class KtlsHandlerFramingTest {

    @ParameterizedTest
    @EnumSource(value = TlsCipherSuite.class, names = {"TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"})
    void largeWriteIsCutIntoFullRecordsWithConsecutiveSequenceNumbers(TlsCipherSuite suite) throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(suite)) {
            int full = KtlsConfig.DEFAULT_MAX_RECORD_PAYLOAD_BYTES;
            byte[] data = random(40000);
            long firstSequence = peer.serverSequence;
            ChannelFuture written = peer.server.writeAndFlush(Unpooled.wrappedBuffer(data));
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(3, records.size());
            assertEquals(full, records.get(0).payload.length);
            assertEquals(full, records.get(1).payload.length);
            assertEquals(40000 - 2 * full, records.get(2).payload.length);
            assertEquals(firstSequence + 3, peer.serverSequence, "each record opened at the next sequence");
            assertArrayEquals(data, concat(records));
            assertTrue(written.isSuccess());
        }
    }

    @Test
    void aFullTls13RecordIsSixteenKibOnTheWire() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            byte[] data = random(3 * 16384);
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(data));
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(16384, records.get(0).wireLength, "header, ciphertext and trailer fill 16 KiB");
            assertEquals(16384, records.get(1).wireLength);
            assertArrayEquals(data, concat(records));
        }
    }

    @Test
    void theTlsMaximumPayloadCanStillBeChosen() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256,
                KtlsConfig.builder().maxRecordPayloadBytes(KtlsConfig.MAX_RECORD_PAYLOAD_BYTES))) {
            byte[] data = random(40000);
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(data));
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(3, records.size());
            assertEquals(16384, records.get(0).payload.length);
            assertEquals(16384 + 22, records.get(0).wireLength);
            assertArrayEquals(data, concat(records));
        }
    }

    @Test
    void smallWritesCoalesceIntoOneRecordPerFlush() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            List<ChannelFuture> futures = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                futures.add(peer.server.write(Unpooled.wrappedBuffer(new byte[] {(byte) i, (byte) i})));
            }
            assertTrue(peer.receive().isEmpty(), "nothing framed before the flush");
            assertFalse(futures.get(0).isDone());
            peer.server.flush();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size());
            assertEquals(20, records.get(0).payload.length);
            for (ChannelFuture f : futures) {
                assertTrue(f.isSuccess());
            }
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {42}));
            records = peer.receive();
            assertEquals(1, records.size(), "a new flush, a new record");
            assertArrayEquals(new byte[] {42}, records.get(0).payload);
        }
    }

    @Test
    void configuredRecordSizeIsHonoured() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_256_GCM_SHA384,
                KtlsConfig.builder().maxRecordPayloadBytes(1000), h -> { })) {
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(random(2500)));
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(Arrays.asList(1000, 1000, 500), sizes(records));
        }
    }

    @Test
    void writesBeforeTheHandshakeAreSentAfterIt() throws Exception {
        byte[] early = random(100);
        ChannelFuture[] future = new ChannelFuture[1];
        try (TlsTestPeer peer = TlsTestPeer.handshakeWithEarlyWrite(TlsCipherSuite.TLS_AES_128_GCM_SHA256, early,
                future)) {
            byte[] received = new byte[peer.receivedByClientSslHandler.readableBytes()];
            peer.receivedByClientSslHandler.readBytes(received);
            assertArrayEquals(early, received, "queued write reached the client right after the takeover");
            assertTrue(future[0].isSuccess());
            assertTrue(peer.events.userEvents.contains(SslHandshakeCompletionEvent.SUCCESS));
        }
    }

    @Test
    void callerBufferIsReleasedOnceWhenItsLastRecordIsWritten() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            ByteBuf direct = peer.server.alloc().directBuffer(20000);
            direct.writeBytes(random(20000));
            long inPlaceBefore = KtlsStats.GLOBAL.recordsSealedInPlace();
            ChannelFuture written = peer.server.writeAndFlush(direct);
            assertTrue(written.isSuccess());
            assertTrue(KtlsStats.GLOBAL.recordsSealedInPlace() >= inPlaceBefore + 2,
                    "a direct buffer we own outright is sealed where it lies");
            // Sealed in place, the ciphertext still lives in the buffer: the records written to the channel hold
            // their own references until the transport is done with them (here: until the test reads them).
            assertEquals(20000, concat(peer.receive()).length);
            assertEquals(0, direct.refCnt(), "released exactly once, after its last record");
            ByteBuf shared = Unpooled.directBuffer(100).writeBytes(random(100));
            shared.retain();
            peer.server.writeAndFlush(shared).sync();
            assertEquals(1, shared.refCnt(), "only the reference handed to write() is released");
            shared.release();
            peer.receive();
        }
    }

    @Test
    void zeroLengthWriteCompletesAfterEarlierRecords() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            ChannelFuture empty = peer.server.writeAndFlush(Unpooled.EMPTY_BUFFER);
            assertTrue(empty.isSuccess());
            assertTrue(peer.receive().isEmpty(), "no record for an empty write");
        }
    }

    static List<Integer> sizes(List<TlsTestPeer.Record> records) {
        List<Integer> sizes = new ArrayList<>();
        for (TlsTestPeer.Record r : records) {
            sizes.add(r.payload.length);
        }
        return sizes;
    }

    static byte[] concat(List<TlsTestPeer.Record> records) {
        ByteBuf all = Unpooled.buffer();
        for (TlsTestPeer.Record r : records) {
            all.writeBytes(r.payload);
        }
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        return bytes;
    }

    static byte[] random(int length) {
        byte[] bytes = new byte[length];
        new Random(length).nextBytes(bytes);
        return bytes;
    }
}
