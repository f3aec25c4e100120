package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The read side against RFC 8446 sections 5.4 and 5.5 and RFC 5246 (and what BoringSSL does where the RFCs leave
 * a choice): zero-length handshake records, KeyUpdate's request_update, both record version bytes, alert levels,
 * and the TLS 1.2 AES-GCM record limit of our own write key.
 */
class KtlsHandlerInboundConformanceTest {

    private static final TlsCipherSuite TLS13 = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final TlsCipherSuite TLS12 = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    private static final byte PROTOCOL_VERSION = 70;
    private static final byte ILLEGAL_PARAMETER = 47;

    @Test
    void zeroLengthTls13HandshakeRecordGetsUnexpectedMessage() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[0]);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void zeroLengthTls12HandshakeRecordGetsUnexpectedMessage() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[0]);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.UNEXPECTED_MESSAGE}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void keyUpdateWithRequestUpdateOtherThanZeroOrOneGetsIllegalParameter() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS13)) {
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 2});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, ILLEGAL_PARAMETER}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void tls13RecordWithAWrongMinorVersionByteGetsProtocolVersion() throws Exception {
        assertWrongVersionRefused(TLS13, 1, 4);
    }

    @Test
    void tls12RecordWithAWrongMinorVersionByteGetsProtocolVersion() throws Exception {
        assertWrongVersionRefused(TLS12, 1, 1);
    }

    @Test
    void recordWithAWrongMajorVersionByteGetsProtocolVersion() throws Exception {
        assertWrongVersionRefused(TLS13, 0, 2);
    }

    /** A record sealed correctly whose version byte {@code index} (0: major, 1: minor) is then changed. */
    private static void assertWrongVersionRefused(TlsCipherSuite suite, int index, int value) throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(suite)) {
            ByteBuf record = peer.seal(TlsRecords.APPLICATION_DATA, new byte[] {1, 2, 3});
            record.setByte(record.readerIndex() + 1 + index, value);
            peer.send(record);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, PROTOCOL_VERSION}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
            assertEquals(0, peer.events.received.readableBytes());
        }
    }

    @Test
    void fatalLevelUserCanceledEndsATls12Connection() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.USER_CANCELED});
            assertFalse(peer.server.isOpen(), "a fatal-level alert is fatal whatever its description");
            assertEquals(0, peer.receive().size(), "no answer to a fatal alert");
            assertEquals(1, peer.events.exceptions.size(), String.valueOf(peer.events.exceptions));
        }
    }

    @Test
    void fatalLevelCloseNotifyIsAFatalAlertNotACleanEnd() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.CLOSE_NOTIFY});
            assertFalse(peer.server.isOpen());
            assertFalse(peer.events.userEvents.contains(SslCloseCompletionEvent.SUCCESS));
            assertEquals(1, peer.events.exceptions.size(), String.valueOf(peer.events.exceptions));
        }
    }

    @Test
    void alertOfAnUnknownLevelGetsIllegalParameter() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            peer.sendRecord(TlsRecords.ALERT, new byte[] {3, TlsRecords.USER_CANCELED});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, ILLEGAL_PARAMETER}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void tls12AesGcmConnectionEndsBeforeItsWriteKeyPassesTheRecordLimit() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TLS12)) {
            long limit = TLS12.maxRecordsPerKey();
            setWriteSequence(peer, limit - 1);
            assertTrue(peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).isSuccess());
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(1, records.size(), "record 2^24 - 1 still goes out");
            ByteBuf late = Unpooled.wrappedBuffer(new byte[] {2});
            assertFalse(peer.server.writeAndFlush(late).isSuccess(), "no record past the AES-GCM limit");
            assertEquals(0, late.refCnt());
            assertFalse(peer.server.isOpen());
            assertEquals(1, peer.events.exceptions.size());
            assertTrue(peer.events.exceptions.get(0).getMessage().contains("limit"),
                    peer.events.exceptions.get(0).getMessage());
        }
    }

    @Test
    void tls12ClientPastItsKeysRecordLimitSendsNoMoreWarnings() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshakeAsServer(TLS12)) {
            setWriteSequence(peer, TLS12.maxRecordsPerKey());
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.HELLO_REQUEST, 0, 0, 0});
            assertEquals(0, peer.receive().size(), "no record past the AES-GCM limit, not even a warning");
        }
    }

    static void setWriteSequence(TlsTestPeer peer, long sequence) throws Exception {
        java.lang.reflect.Field outboundField = KtlsHandler.class.getDeclaredField("outbound");
        outboundField.setAccessible(true);
        Object outbound = outboundField.get(peer.handler);
        java.lang.reflect.Field next = OutboundRecordLayer.class.getDeclaredField("nextSequence");
        next.setAccessible(true);
        next.setLong(outbound, sequence);
        peer.serverSequence = sequence;
    }
}
