package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of bad input after the takeover: the right alert goes out (decrypted here with the server's key),
 * an {@link SSLException} reaches the pipeline, the channel closes, and nothing leaks (the leak detector runs at
 * PARANOID and fails the test on any leaked buffer).
 */
class KtlsHandlerBadInputTest {

    private static final TlsCipherSuite TLS13 = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final TlsCipherSuite TLS12 = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;

    @Test
    void recordWithBadTagGetsBadRecordMac() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            ByteBuf record = peer.seal(TlsRecords.APPLICATION_DATA, new byte[100]);
            record.setByte(20, record.getByte(20) ^ 1);
            peer.send(record);
            assertAborted(peer, TlsRecords.BAD_RECORD_MAC);
            assertEquals(0, record.refCnt());
        }
    }

    @Test
    void tls12RecordWithBadTagGetsBadRecordMac() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            ByteBuf record = peer.seal(TlsRecords.APPLICATION_DATA, new byte[10]);
            record.setByte(record.writerIndex() - 1, record.getByte(record.writerIndex() - 1) ^ 1);
            peer.send(record);
            assertAborted(peer, TlsRecords.BAD_RECORD_MAC);
        }
    }

    @Test
    void oversizedRecordGetsRecordOverflowBeforeItsBodyArrives() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            ByteBuf header = Unpooled.buffer().writeByte(23).writeShort(0x0303).writeShort(16384 + 257)
                    .writeZero(100);
            peer.send(header);
            assertAborted(peer, TlsRecords.RECORD_OVERFLOW);
        }
    }

    @Test
    void plaintextHandshakeRecordAfterTls13HandshakeGetsUnexpectedMessage() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.send(Unpooled.buffer().writeByte(22).writeShort(0x0303).writeShort(4).writeInt(0x01000000));
            assertAborted(peer, TlsRecords.UNEXPECTED_MESSAGE);
        }
    }

    @Test
    void changeCipherSpecInsideTls13RecordGetsUnexpectedMessage() throws Exception {
        assertRecordAborts(TLS13, TlsRecords.CHANGE_CIPHER_SPEC, new byte[] {1}, TlsRecords.UNEXPECTED_MESSAGE);
    }

    @Test
    void clientHelloAfterTls13HandshakeGetsUnexpectedMessage() throws Exception {
        assertRecordAborts(TLS13, TlsRecords.HANDSHAKE, new byte[] {TlsRecords.CLIENT_HELLO, 0, 0, 2, 3, 3},
                TlsRecords.UNEXPECTED_MESSAGE);
    }

    @Test
    void newSessionTicketSentToTheServerGetsUnexpectedMessage() throws Exception {
        assertRecordAborts(TLS13, TlsRecords.HANDSHAKE, new byte[] {TlsRecords.NEW_SESSION_TICKET, 0, 0, 1, 0},
                TlsRecords.UNEXPECTED_MESSAGE);
    }

    @Test
    void alertOfWrongLengthGetsDecodeError() throws Exception {
        assertRecordAborts(TLS13, TlsRecords.ALERT, new byte[] {2, 40, 0}, TlsRecords.DECODE_ERROR);
    }

    @Test
    void fatalAlertFromPeerClosesWithoutAnswer() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.ALERT, new byte[] {2, TlsRecords.HANDSHAKE_FAILURE});
            assertFalse(peer.server.isOpen());
            assertTrue(peer.receive().isEmpty(), "no alert answers a fatal alert");
            assertEquals(1, peer.events.exceptions.size());
            assertTrue(peer.events.exceptions.get(0).getMessage().contains("handshake_failure"),
                    peer.events.exceptions.get(0).getMessage());
            assertCloseEventFailed(peer);
        }
    }

    @Test
    void closeNotifyFromPeerIsAnsweredAndClosesCleanly() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.APPLICATION_DATA, "bye".getBytes(StandardCharsets.US_ASCII));
            peer.sendRecord(TlsRecords.ALERT, new byte[] {1, TlsRecords.CLOSE_NOTIFY});
            assertArrayEquals(new byte[] {1, 0}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
            assertTrue(peer.events.exceptions.isEmpty(), "clean close: " + peer.events.exceptions);
            assertTrue(peer.events.userEvents.contains(SslCloseCompletionEvent.SUCCESS));
            assertEquals("bye", peer.events.received.toString(StandardCharsets.US_ASCII));
        }
    }

    @Test
    void answerToCloseNotifyFailingToBeWrittenIsStillACleanEnd() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            // The peer is already gone when our close_notify reaches the transport.
            peer.server.pipeline().addFirst(failingWrites("Broken pipe"));
            peer.sendRecord(TlsRecords.ALERT, new byte[] {1, TlsRecords.CLOSE_NOTIFY});
            assertFalse(peer.server.isOpen());
            assertTrue(peer.events.exceptions.isEmpty(), "a clean end: " + peer.events.exceptions);
            assertTrue(peer.events.userEvents.contains(SslCloseCompletionEvent.SUCCESS));
        }
    }

    @Test
    void failedWriteOfDataClosesWithoutReportingItTwice() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.server.pipeline().addFirst(failingWrites("Connection reset by peer"));
            ByteBuf data = Unpooled.directBuffer(40000).writeZero(40000);
            io.netty.channel.ChannelFuture write = peer.server.writeAndFlush(data);
            assertFalse(write.isSuccess());
            assertTrue(write.cause() instanceof java.io.IOException, String.valueOf(write.cause()));
            assertEquals(0, data.refCnt());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void localCloseSendsCloseNotifyAfterPendingData() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            peer.server.write(Unpooled.wrappedBuffer(new byte[] {7, 7}));
            peer.server.close();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(2, records.size());
            assertArrayEquals(new byte[] {7, 7}, records.get(0).payload);
            assertEquals(TlsRecords.ALERT, records.get(1).type);
            assertArrayEquals(new byte[] {1, 0}, records.get(1).payload);
            assertFalse(peer.server.isOpen());
            assertTrue(peer.events.exceptions.isEmpty());
        }
    }

    @Test
    void closeOutboundSendsCloseNotifyAndKeepsTheChannelOpen() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            io.netty.channel.ChannelFuture closed = peer.handler.closeOutbound();
            assertTrue(closed.isSuccess());
            assertArrayEquals(new byte[] {1, TlsRecords.CLOSE_NOTIFY}, peer.onlyAlert());
            assertTrue(peer.server.isOpen(), "only the outbound side is closed");
            ByteBuf late = Unpooled.wrappedBuffer(new byte[] {1});
            io.netty.channel.ChannelFuture write = peer.server.writeAndFlush(late);
            assertFalse(write.isSuccess(), "no data after close_notify");
            assertEquals(0, late.refCnt());
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {3});
            assertEquals(1, peer.events.received.readableBytes(), "the inbound side still reads");
        }
    }

    @Test
    void streamEndingWithoutCloseNotifyIsReportedAsTruncation() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {1});
            peer.server.pipeline().fireChannelInactive();
            assertEquals(1, peer.events.exceptions.size());
            assertInstanceOf(SSLException.class, peer.events.exceptions.get(0));
            assertTrue(peer.events.exceptions.get(0).getMessage().contains("without close_notify"));
            assertCloseEventFailed(peer);
        }
    }

    @Test
    void peerVanishingMidRecordIsReportedAndItsBytesReleased() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            ByteBuf record = peer.seal(TlsRecords.APPLICATION_DATA, new byte[1000]);
            ByteBuf firstHalf = record.readRetainedSlice(500);
            peer.send(firstHalf);
            peer.server.pipeline().fireChannelInactive();
            record.release();
            assertEquals(1, peer.events.exceptions.size());
            assertTrue(peer.events.exceptions.get(0).getMessage().contains("middle of a record"),
                    peer.events.exceptions.get(0).getMessage());
            assertEquals(0, record.refCnt());
        }
    }

    @Test
    void garbageBeforeTheHandshakeFailsItAndCloses() throws Exception {
        TlsTestPeer.Events events = new TlsTestPeer.Events();
        KtlsHandler handler = new KtlsHandler(TestTls.get().server(TLS13), KtlsConfig.defaults());
        EmbeddedChannel channel = new EmbeddedChannel(handler, events);
        ByteBuf garbage = Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n", StandardCharsets.US_ASCII);
        channel.writeInbound(garbage);
        assertEquals(0, garbage.refCnt());
        assertTrue(handler.handshakeFuture().isDone());
        assertFalse(handler.handshakeFuture().isSuccess());
        assertInstanceOf(SSLException.class, handler.handshakeFuture().cause());
        assertFalse(channel.isOpen());
        assertFalse(handler.isRecordLayerActive());
        channel.finishAndReleaseAll();
        events.received.release();
    }

    @Test
    void oversizedRecordBeforeTheHandshakeIsRefusedWithoutBufferingIt() throws Exception {
        TlsTestPeer.Events events = new TlsTestPeer.Events();
        KtlsHandler handler = new KtlsHandler(TestTls.get().server(TLS13), KtlsConfig.defaults());
        EmbeddedChannel channel = new EmbeddedChannel(handler, events);
        ByteBuf header = Unpooled.buffer().writeByte(22).writeShort(0x0301).writeShort(0xFFFF).writeZero(16);
        channel.writeInbound(header);
        assertTrue(handler.handshakeFuture().isDone() && !handler.handshakeFuture().isSuccess(),
                "refused at the header, not after 64 KiB arrived");
        assertFalse(channel.isOpen());
        channel.finishAndReleaseAll();
        events.received.release();
    }

    @Test
    void failedHandshakeFailsTheFutureFiresTheEventAndReleasesQueuedWrites() throws Exception {
        TlsTestPeer.Events events = new TlsTestPeer.Events();
        KtlsHandler handler = new KtlsHandler(TestTls.get().server(TLS13), KtlsConfig.defaults());
        EmbeddedChannel server = new EmbeddedChannel(handler, events);
        ByteBuf early = Unpooled.directBuffer(10).writeZero(10);
        io.netty.channel.ChannelFuture earlyWrite = server.writeAndFlush(early);
        // A TLS 1.2-only client meets a TLS 1.3-only server.
        EmbeddedChannel client = new EmbeddedChannel(TestTls.get().client(io.netty.handler.ssl.SslProvider.JDK, TLS12)
                .newHandler(server.alloc(), "localhost", 443));
        for (int round = 0; round < 10; round++) {
            ByteBuf b;
            while ((b = client.readOutbound()) != null) {
                if (server.isOpen()) {
                    server.writeInbound(b);
                } else {
                    b.release();
                }
            }
            while ((b = server.readOutbound()) != null) {
                try {
                    client.writeInbound(b);
                } catch (Exception expected) {
                    // The client learns of the failure too (protocol_version): not what this test is about.
                }
            }
        }
        assertTrue(handler.handshakeFuture().isDone());
        assertFalse(handler.handshakeFuture().isSuccess());
        boolean failureEvent = false;
        for (Object e : events.userEvents) {
            if (e instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent) {
                failureEvent |= !((io.netty.handler.ssl.SslHandshakeCompletionEvent) e).isSuccess();
            }
        }
        assertTrue(failureEvent, "failed SslHandshakeCompletionEvent fired: " + events.userEvents);
        assertFalse(earlyWrite.isSuccess());
        assertEquals(0, early.refCnt(), "queued write released");
        assertFalse(server.isOpen());
        server.finishAndReleaseAll();
        try {
            client.finishAndReleaseAll();
        } catch (Exception expected) {
            // Same client-side failure, rethrown on finish.
        }
        events.received.release();
    }

    @Test
    void tls12RenegotiationIsRefusedWithAFatalNoRenegotiation() throws Exception {
        assertRecordAborts(TLS12, TlsRecords.HANDSHAKE, new byte[] {TlsRecords.CLIENT_HELLO, 0, 0, 2, 3, 3},
                TlsRecords.NO_RENEGOTIATION);
    }

    @Test
    void helloRequestToAClientIsRefusedWithAWarningAndTheConnectionGoesOn() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshakeAsServer(TLS12)) {
            assertFalse(peer.handler.session() == null, "handshake finished");
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.HELLO_REQUEST, 0, 0, 0});
            assertArrayEquals(new byte[] {1, TlsRecords.NO_RENEGOTIATION}, peer.onlyAlert());
            assertTrue(peer.server.isOpen());
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {5, 6});
            assertEquals(2, peer.events.received.readableBytes());
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {7}));
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size());
            assertArrayEquals(new byte[] {7}, records.get(0).payload, "the client still writes after refusing");
            assertTrue(peer.events.exceptions.isEmpty(), String.valueOf(peer.events.exceptions));
        }
    }

    @Test
    void clientHelloToAClientGetsUnexpectedMessage() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshakeAsServer(TLS12)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.CLIENT_HELLO, 0, 0, 2, 3, 3});
            assertArrayEquals(new byte[] {2, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.events.exceptions.isEmpty());
        }
    }

    @Test
    void keyUpdateRequestedByPeerIsAnsweredAndBothDirectionsMoveToNewKeys() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 1});
            peer.updateClientKeys();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size());
            assertArrayEquals(new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 0}, records.get(0).payload,
                    "update_not_requested in answer");
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {9, 9, 9});
            assertEquals(3, peer.events.received.readableBytes(), "read with the peer's next key");
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {4, 2}));
            records = peer.receive();
            assertEquals(1, records.size(), "sealed with our next key, at sequence 0");
            assertArrayEquals(new byte[] {4, 2}, records.get(0).payload);
            assertTrue(peer.events.exceptions.isEmpty());
        }
    }

    @Test
    void keyUpdateSplitAcrossRecordsIsReassembled() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0});
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {1, 0});
            peer.updateClientKeys();
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {8});
            assertEquals(1, peer.events.received.readableBytes(), "read with the peer's next key");
            assertTrue(peer.events.exceptions.isEmpty(), String.valueOf(peer.events.exceptions));
        }
    }

    @Test
    void dataInsideAFragmentedHandshakeMessageGetsUnexpectedMessage() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0});
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[] {8});
            assertAborted(peer, TlsRecords.UNEXPECTED_MESSAGE);
            assertEquals(0, peer.events.received.readableBytes());
        }
    }

    @Test
    void writeKeyIsUpdatedBeforeTheRecordLimit() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13, KtlsConfig.builder().keyUpdateAfterRecords(3))) {
            for (int i = 0; i < 6; i++) {
                peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {(byte) i}));
            }
            List<TlsTestPeer.Record> records = peer.receive();
            int keyUpdates = 0;
            ByteBuf data = Unpooled.buffer();
            for (TlsTestPeer.Record r : records) {
                if (r.type == TlsRecords.HANDSHAKE) {
                    assertArrayEquals(new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 0}, r.payload);
                    keyUpdates++;
                } else {
                    data.writeBytes(r.payload);
                }
            }
            assertTrue(keyUpdates >= 2, "a KeyUpdate every 3 records: " + keyUpdates);
            assertEquals(Unpooled.wrappedBuffer(new byte[] {0, 1, 2, 3, 4, 5}), data);
            data.release();
        }
    }

    @Test
    void tls12ConnectionEndsBeforeItsSequenceNumberWraps() throws Exception {
        // ChaCha20-Poly1305: AES-GCM's key ends long before (KtlsHandlerInboundConformanceTest).
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)) {
            java.lang.reflect.Field outboundField = KtlsHandler.class.getDeclaredField("outbound");
            outboundField.setAccessible(true);
            Object outbound = outboundField.get(peer.handler);
            java.lang.reflect.Field next = OutboundRecordLayer.class.getDeclaredField("nextSequence");
            next.setAccessible(true);
            next.setLong(outbound, -2L); // 2^64 - 2: the last number a record may use
            peer.serverSequence = -2L;
            assertTrue(peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).isSuccess());
            assertEquals(1, peer.receive().size(), "record 2^64 - 2 still goes out");
            ByteBuf late = Unpooled.wrappedBuffer(new byte[] {2});
            io.netty.channel.ChannelFuture refused = peer.server.writeAndFlush(late);
            assertFalse(refused.isSuccess(), "no record may use 2^64 - 1");
            assertEquals(0, late.refCnt());
            assertFalse(peer.server.isOpen(), "the connection ends instead of wrapping");
            assertEquals(1, peer.events.exceptions.size());
            assertTrue(peer.events.exceptions.get(0).getMessage().contains("exhausted"));
        }
    }

    /** A transport that has lost the peer: every write is released and fails with {@code message}. */
    private static io.netty.channel.ChannelOutboundHandler failingWrites(String message) {
        return new io.netty.channel.ChannelOutboundHandlerAdapter() {
            @Override
            public void write(io.netty.channel.ChannelHandlerContext ctx, Object msg,
                              io.netty.channel.ChannelPromise promise) {
                io.netty.util.ReferenceCountUtil.release(msg);
                promise.setFailure(new java.io.IOException(message));
            }
        };
    }

    /** After the handshake the peer sends one record of {@code type}: the handler aborts with {@code alert}. */
    private static void assertRecordAborts(TlsCipherSuite suite, byte type, byte[] body, byte alert)
            throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(suite)) {
            peer.sendRecord(type, body);
            assertAborted(peer, alert);
        }
    }

    private static void assertAborted(TlsTestPeer peer, byte description) throws Exception {
        assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, description}, peer.onlyAlert(),
                "alert " + TlsRecords.alertName(description));
        assertFalse(peer.server.isOpen(), "channel closed");
        assertEquals(1, peer.events.exceptions.size(), "one exception: " + peer.events.exceptions);
        assertInstanceOf(SSLException.class, peer.events.exceptions.get(0));
        assertCloseEventFailed(peer);
    }

    private static void assertCloseEventFailed(TlsTestPeer peer) {
        SslCloseCompletionEvent close = null;
        for (Object e : peer.events.userEvents) {
            if (e instanceof SslCloseCompletionEvent) {
                close = (SslCloseCompletionEvent) e;
            }
        }
        assertNotNull(close, "SslCloseCompletionEvent fired");
        assertFalse(close.isSuccess());
    }
}
