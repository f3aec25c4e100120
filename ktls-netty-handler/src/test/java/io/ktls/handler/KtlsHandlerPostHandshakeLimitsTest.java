package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bounded answers to what a peer sends after the handshake (BoringSSL's rules): renegotiation on a server ends
 * the connection; a client answers HelloRequests with one no_renegotiation warning at a time; one KeyUpdate
 * answer at a time; at most 32 KeyUpdates or HelloRequests, 32 empty records, 4 warning alerts in a row without
 * data between them; every answer waits for a free slot under {@code maxRecordsInFlight}.
 */
class KtlsHandlerPostHandshakeLimitsTest {

    private static final TlsCipherSuite TLS13 = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final TlsCipherSuite TLS12 = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    private static final byte[] KEY_UPDATE_REQUESTED = {TlsRecords.KEY_UPDATE, 0, 0, 1, 1};
    private static final byte[] KEY_UPDATE_NOT_REQUESTED = {TlsRecords.KEY_UPDATE, 0, 0, 1, 0};
    private static final byte[] HELLO_REQUEST = {TlsRecords.HELLO_REQUEST, 0, 0, 0};

    /** In front of the handler: holds every record written, as a transport does for a peer that stopped reading. */
    static final class StalledTransport extends ChannelOutboundHandlerAdapter {
        final List<Object> held = new ArrayList<>();
        final List<ChannelPromise> promises = new ArrayList<>();
        private ChannelHandlerContext ctx;
        int released;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        private boolean closed;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (closed) {
                // As a transport does with a write after its close: released and failed, never held.
                io.netty.util.ReferenceCountUtil.release(msg);
                promise.tryFailure(new java.nio.channels.ClosedChannelException());
                return;
            }
            held.add(msg);
            promises.add(promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            // Nothing moves until the test says so.
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
            // The connection ends with records never read: they fail and are released, as a transport does.
            closed = true;
            for (int i = released; i < held.size(); i++) {
                io.netty.util.ReferenceCountUtil.release(held.get(i));
                promises.get(i).tryFailure(new java.nio.channels.ClosedChannelException());
            }
            released = held.size();
            ctx.close(promise);
        }

        int writes() {
            return held.size();
        }

        /** Lets the oldest {@code n} held records through to the channel (the peer reads again). */
        void deliver(int n) {
            for (int i = 0; i < n; i++) {
                Object msg = held.get(released);
                ChannelPromise promise = promises.get(released);
                released++;
                ctx.write(msg, promise);
            }
            ctx.flush();
        }

        void deliverAll() {
            deliver(held.size() - released);
        }
    }

    private static StalledTransport stall(TlsTestPeer peer) {
        StalledTransport stalled = new StalledTransport();
        peer.server.pipeline().addFirst(stalled);
        // The close waits for our close_notify to be written, up to the flush timeout; EmbeddedChannel cancels
        // that timer when it closes, so the peer reads again at the end instead.
        peer.onClose = stalled::deliverAll;
        return stalled;
    }

    // ---------------------------------------------------------------- renegotiation

    @Test
    void renegotiationAttemptOnATls12ServerEndsTheConnectionWithNoRenegotiation() throws Exception {
        long refused = KtlsStats.GLOBAL.renegotiationsRefused();
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.CLIENT_HELLO, 0, 0, 2, 3, 3});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.NO_RENEGOTIATION}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
            assertEquals(1, peer.events.exceptions.size(), String.valueOf(peer.events.exceptions));
        }
        assertTrue(KtlsStats.GLOBAL.renegotiationsRefused() > refused);
    }

    @Test
    void clientHellosPackedIntoOneRecordGetOneFatalAlert() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            byte[] packed = new byte[16384];
            for (int i = 0; i < packed.length; i += 4) {
                packed[i] = TlsRecords.CLIENT_HELLO; // 4,096 empty ClientHello headers
            }
            peer.sendRecord(TlsRecords.HANDSHAKE, packed);
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size(), "one record in answer to 4,096 renegotiation attempts");
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.NO_RENEGOTIATION}, records.get(0).payload);
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void helloRequestWithABodyGetsDecodeError() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshakeAsServer(TLS12)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.HELLO_REQUEST, 0, 0, 1, 0});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.DECODE_ERROR}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void helloRequestsWhileTheAnswerIsUnwrittenAreAnsweredOnce() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshakeAsServer(TLS12)) {
            StalledTransport stalled = stall(peer);
            for (int i = 0; i < 3; i++) {
                peer.sendRecord(TlsRecords.HANDSHAKE, HELLO_REQUEST);
            }
            assertEquals(1, stalled.writes(), "one no_renegotiation warning while it is not written");
            stalled.deliverAll();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size());
            assertArrayEquals(new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.NO_RENEGOTIATION},
                    records.get(0).payload);
            peer.sendRecord(TlsRecords.HANDSHAKE, HELLO_REQUEST);
            assertEquals(2, stalled.writes(), "answered again once the first answer was written");
            assertTrue(peer.server.isOpen());
            assertTrue(peer.events.exceptions.isEmpty(), String.valueOf(peer.events.exceptions));
        }
    }

    @Test
    void helloRequestsPackedIntoOneRecordEndTheConnectionAfter32() throws Exception {
        long floods = KtlsStats.GLOBAL.postHandshakeMessageFloodsRefused();
        try (TlsTestPeer peer = TlsTestPeer.handshakeAsServer(TLS12)) {
            byte[] packed = new byte[16384]; // 4,096 empty HelloRequests (type 0, length 0)
            peer.sendRecord(TlsRecords.HANDSHAKE, packed);
            List<TlsTestPeer.Record> records = peer.receive();
            assertTrue(records.size() <= 33, "at most 32 warnings and the fatal alert: " + records.size());
            TlsTestPeer.Record last = records.get(records.size() - 1);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, last.payload);
            assertFalse(peer.server.isOpen());
        }
        assertTrue(KtlsStats.GLOBAL.postHandshakeMessageFloodsRefused() > floods);
    }

    // ---------------------------------------------------------------- KeyUpdate

    @Test
    void keyUpdateRequestsWhileTheAnswerIsUnwrittenAreAnsweredOnce() throws Exception {
        long coalesced = KtlsStats.GLOBAL.answersCoalesced();
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            StalledTransport stalled = stall(peer);
            for (int i = 0; i < 5; i++) {
                peer.sendRecord(TlsRecords.HANDSHAKE, KEY_UPDATE_REQUESTED);
                peer.updateClientKeys();
            }
            assertEquals(1, stalled.writes(), "one KeyUpdate answer while it is not written");
            stalled.deliverAll();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size());
            assertArrayEquals(KEY_UPDATE_NOT_REQUESTED, records.get(0).payload);
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {1, 2});
            assertEquals(2, peer.events.received.readableBytes(), "read with the peer's fifth key");
            peer.sendRecord(TlsRecords.HANDSHAKE, KEY_UPDATE_REQUESTED);
            peer.updateClientKeys();
            assertEquals(2, stalled.writes(), "answered again once the first answer was written");
            assertTrue(peer.events.exceptions.isEmpty(), String.valueOf(peer.events.exceptions));
        }
        assertTrue(KtlsStats.GLOBAL.answersCoalesced() >= coalesced + 4);
    }

    @Test
    void keyUpdateAnswerWaitsForAFreeSlotUnderTheInFlightCapAndGoesBeforeLaterData() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13, KtlsConfig.builder().maxRecordsInFlight(4), h -> { })) {
            StalledTransport stalled = stall(peer);
            for (int i = 0; i < 4; i++) {
                peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {(byte) i}));
            }
            assertEquals(4, stalled.writes());
            peer.sendRecord(TlsRecords.HANDSHAKE, KEY_UPDATE_REQUESTED);
            peer.updateClientKeys();
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {4}));
            assertEquals(4, stalled.writes(), "nothing beyond the cap of 4 records in flight");
            stalled.deliver(1);
            assertEquals(5, stalled.writes(), "the answer takes the slot freed");
            stalled.deliverAll();
            stalled.deliverAll();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(6, records.size());
            assertArrayEquals(KEY_UPDATE_NOT_REQUESTED, records.get(4).payload, "the answer before later data");
            assertArrayEquals(new byte[] {4}, records.get(5).payload, "data after the answer, under the new key");
            assertTrue(peer.events.exceptions.isEmpty(), String.valueOf(peer.events.exceptions));
        }
    }

    @Test
    void thirtyTwoKeyUpdatesInARowAreAcceptedAndTheThirtyThirdEndsTheConnection() throws Exception {
        long floods = KtlsStats.GLOBAL.postHandshakeMessageFloodsRefused();
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            for (int i = 0; i < 32; i++) {
                peer.sendRecord(TlsRecords.HANDSHAKE, KEY_UPDATE_NOT_REQUESTED);
                peer.updateClientKeys();
            }
            assertTrue(peer.server.isOpen(), "32 in a row are allowed");
            peer.sendRecord(TlsRecords.HANDSHAKE, KEY_UPDATE_NOT_REQUESTED);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
        assertTrue(KtlsStats.GLOBAL.postHandshakeMessageFloodsRefused() > floods);
    }

    @Test
    void applicationDataBetweenKeyUpdatesStartsTheCountAgain() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 32; i++) {
                    peer.sendRecord(TlsRecords.HANDSHAKE, KEY_UPDATE_NOT_REQUESTED);
                    peer.updateClientKeys();
                }
                peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {(byte) round});
            }
            assertEquals(3, peer.events.received.readableBytes());
            assertTrue(peer.server.isOpen());
            assertTrue(peer.events.exceptions.isEmpty(), String.valueOf(peer.events.exceptions));
        }
    }

    // ---------------------------------------------------------------- empty records, warning alerts

    @Test
    void thirtyTwoEmptyRecordsInARowAreAcceptedAndTheThirtyThirdEndsTheConnection() throws Exception {
        long floods = KtlsStats.GLOBAL.emptyRecordFloodsRefused();
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            for (int i = 0; i < 32; i++) {
                peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[0]);
            }
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {1});
            for (int i = 0; i < 32; i++) {
                peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[0]);
            }
            assertTrue(peer.server.isOpen(), "32 in a row, data, 32 again: allowed");
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[0]);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
            assertEquals(1, peer.events.received.readableBytes());
        }
        assertTrue(KtlsStats.GLOBAL.emptyRecordFloodsRefused() > floods);
    }

    @Test
    void emptyRecordsPackedIntoOneReadEndTheConnection() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            ByteBuf read = Unpooled.buffer();
            for (int i = 0; i < 1000; i++) {
                ByteBuf record = peer.seal(TlsRecords.APPLICATION_DATA, new byte[0]);
                read.writeBytes(record);
                record.release();
            }
            peer.send(read);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void fourWarningAlertsInARowAreIgnoredAndTheFifthEndsATls12Connection() throws Exception {
        long floods = KtlsStats.GLOBAL.warningAlertFloodsRefused();
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            for (int i = 0; i < 4; i++) {
                peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.USER_CANCELED});
            }
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {1});
            for (int i = 0; i < 4; i++) {
                peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.NO_RENEGOTIATION});
            }
            assertTrue(peer.server.isOpen(), "4 in a row, data, 4 again: allowed");
            peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.USER_CANCELED});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
        assertTrue(KtlsStats.GLOBAL.warningAlertFloodsRefused() > floods);
    }

    @Test
    void fiveUserCanceledAlertsInARowEndATls13Connection() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            for (int i = 0; i < 4; i++) {
                peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.USER_CANCELED});
            }
            assertTrue(peer.server.isOpen());
            peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.USER_CANCELED});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }
}
