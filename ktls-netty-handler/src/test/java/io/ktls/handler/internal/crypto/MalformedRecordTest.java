package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;

import static io.ktls.handler.internal.crypto.RecordCipherContractTest.keys;
import static io.ktls.handler.internal.crypto.RecordCipherContractTest.payload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each malformed record gets the TLS alert RFC 8446 / RFC 5246 names, and misuse fails before any byte moves. */
class MalformedRecordTest {

    private static final TlsCipherSuite TLS13 = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final TlsCipherSuite TLS12_GCM = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256;
    private static final TlsCipherSuite TLS12_CHACHA = TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;

    private static void assertAlert(byte alert, Executable open) {
        TlsRecordException e = assertThrows(TlsRecordException.class, open);
        assertEquals(alert, e.alertDescription(), e.getMessage());
    }

    private static byte[] headerOnly(int type, int length, int bodyBytes) {
        byte[] record = new byte[5 + bodyBytes];
        record[0] = (byte) type;
        record[1] = 3;
        record[2] = 3;
        record[3] = (byte) (length >> 8);
        record[4] = (byte) length;
        return record;
    }

    @Test
    void tls13RecordsAboveTheLimitsAreRecordOverflow() throws Exception {
        try (TrafficKeys keys = keys(TLS13); RecordCipher cipher = RecordCipher.create(keys)) {
            ByteBuffer out = ByteBuffer.allocate(20000);
            // length field 2^14 + 257: refused from the header alone
            assertAlert(TlsRecordException.RECORD_OVERFLOW,
                        () -> cipher.open(0, ByteBuffer.wrap(headerOnly(23, 16384 + 257, 16384 + 257)), out));
            // a well-formed, authentic record whose inner plaintext is 2^14 + 2 bytes
            byte[] tooLong = ReferenceRecords.tls13(TLS13, keys.key(), keys.iv(), 0, (byte) 23, payload(16385), 0);
            assertAlert(TlsRecordException.RECORD_OVERFLOW, () -> cipher.open(0, ByteBuffer.wrap(tooLong), out));
            // 2^14 bytes of content plus padding: the inner plaintext limit counts the padding (RFC 8446 5.4)
            byte[] padded = ReferenceRecords.tls13(TLS13, keys.key(), keys.iv(), 0, (byte) 23, payload(16384), 200);
            assertAlert(TlsRecordException.RECORD_OVERFLOW, () -> cipher.open(0, ByteBuffer.wrap(padded), out));
            // while exactly 2^14 content + type opens
            byte[] max = ReferenceRecords.tls13(TLS13, keys.key(), keys.iv(), 0, (byte) 23, payload(16384), 0);
            assertEquals(23, cipher.open(0, ByteBuffer.wrap(max), out));
            assertEquals(16384, out.position());
        }
    }

    @Test
    void tls13InnerPlaintextWithoutContentTypeIsUnexpectedMessage() throws Exception {
        try (TrafficKeys keys = keys(TLS13); RecordCipher cipher = RecordCipher.create(keys)) {
            ByteBuffer out = ByteBuffer.allocate(200);
            byte[] zeros = ReferenceRecords.tls13Raw(TLS13, keys.key(), keys.iv(), 4, new byte[100]);
            assertAlert(TlsRecordException.UNEXPECTED_MESSAGE, () -> cipher.open(4, ByteBuffer.wrap(zeros), out));
            assertEquals(0, out.position());
            byte[] empty = ReferenceRecords.tls13Raw(TLS13, keys.key(), keys.iv(), 5, new byte[0]);
            assertAlert(TlsRecordException.UNEXPECTED_MESSAGE, () -> cipher.open(5, ByteBuffer.wrap(empty), out));
        }
    }

    @Test
    void tls13PaddingIsStrippedAndZeroBytesOfContentSurvive() throws Exception {
        try (TrafficKeys keys = keys(TLS13); RecordCipher cipher = RecordCipher.create(keys)) {
            byte[] content = {0, 0, 7, 0, 0};
            byte[] record = ReferenceRecords.tls13(TLS13, keys.key(), keys.iv(), 1, (byte) 21, content, 1000);
            ByteBuffer out = ByteBuffer.allocate(cipher.maxOpenedLength(record.length - 5));
            assertEquals(21, cipher.open(1, ByteBuffer.wrap(record), out));
            assertArrayEquals(content, RecordCipherContractTest.written(out, 0));
        }
    }

    @Test
    void tls13NonApplicationDataOuterTypeIsUnexpectedMessage() throws Exception {
        try (TrafficKeys keys = keys(TLS13); RecordCipher cipher = RecordCipher.create(keys)) {
            byte[] record = ReferenceRecords.tls13(TLS13, keys.key(), keys.iv(), 0, (byte) 23, payload(10), 0);
            record[0] = 22;
            assertAlert(TlsRecordException.UNEXPECTED_MESSAGE,
                        () -> cipher.open(0, ByteBuffer.wrap(record), ByteBuffer.allocate(100)));
        }
    }

    @Test
    void truncatedRecordsAreDecodeErrorAndTagShortRecordsBadRecordMac() {
        for (TlsCipherSuite suite : new TlsCipherSuite[] {TLS13, TLS12_GCM, TLS12_CHACHA}) {
            try (TrafficKeys keys = keys(suite); RecordCipher cipher = RecordCipher.create(keys)) {
                ByteBuffer out = ByteBuffer.allocate(100);
                assertAlert(TlsRecordException.DECODE_ERROR,
                            () -> cipher.open(0, ByteBuffer.wrap(new byte[] {23, 3, 3}), out));
                ByteBuffer truncated = ByteBuffer.wrap(headerOnly(23, 60, 59));
                assertAlert(TlsRecordException.DECODE_ERROR, () -> cipher.open(0, truncated, out));
                assertEquals(0, truncated.position());
                int tooShort = suite.explicitNonceLength() + 15;
                assertAlert(TlsRecordException.BAD_RECORD_MAC,
                            () -> cipher.open(0, ByteBuffer.wrap(headerOnly(23, tooShort, tooShort)), out));
            }
        }
    }

    @Test
    void tls12RecordsAboveTheLimitsAreRecordOverflow() throws Exception {
        for (TlsCipherSuite suite : new TlsCipherSuite[] {TLS12_GCM, TLS12_CHACHA}) {
            try (TrafficKeys keys = keys(suite); RecordCipher cipher = RecordCipher.create(keys)) {
                ByteBuffer out = ByteBuffer.allocate(20000);
                assertAlert(TlsRecordException.RECORD_OVERFLOW,
                            () -> cipher.open(0, ByteBuffer.wrap(headerOnly(23, 16384 + 2049, 16384 + 2049)), out));
                byte[] tooLong = ReferenceRecords.tls12(suite, keys.key(), keys.iv(), 0, 0, (byte) 23, payload(16385));
                assertAlert(TlsRecordException.RECORD_OVERFLOW, () -> cipher.open(0, ByteBuffer.wrap(tooLong), out));
            }
        }
    }

    @Test
    void tls12ContentTypesThatCannotBeProtectedHereAreUnexpectedMessage() throws Exception {
        for (byte type : new byte[] {20, 24, 0}) {
            try (TrafficKeys keys = keys(TLS12_GCM); RecordCipher cipher = RecordCipher.create(keys)) {
                byte[] record = ReferenceRecords.tls12(TLS12_GCM, keys.key(), keys.iv(), 0, 0, type, payload(1));
                assertAlert(TlsRecordException.UNEXPECTED_MESSAGE,
                            () -> cipher.open(0, ByteBuffer.wrap(record), ByteBuffer.allocate(100)));
            }
        }
    }

    @Test
    void misuseFailsBeforeWritingOrConsumingTheNonce() {
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            try (TrafficKeys keys = keys(suite); RecordCipher cipher = RecordCipher.create(keys)) {
                ByteBuffer header = ByteBuffer.allocate(cipher.headerLength());
                ByteBuffer body = ByteBuffer.allocate(16385);
                ByteBuffer trailer = ByteBuffer.allocate(cipher.trailerLength(0));
                assertThrows(IllegalArgumentException.class, () -> cipher.seal(3, (byte) 23,
                        ByteBuffer.allocate(16385), header, body, trailer));
                assertThrows(IllegalArgumentException.class, () -> cipher.seal(3, (byte) 23,
                        ByteBuffer.allocate(100), header, ByteBuffer.allocate(99), trailer));
                assertThrows(IllegalArgumentException.class, () -> cipher.seal(3, (byte) 23,
                        ByteBuffer.allocate(100), header, body, ByteBuffer.allocate(cipher.trailerLength(100) - 1)));
                assertThrows(IllegalArgumentException.class, () -> cipher.sealRecord(3, (byte) 23,
                        ByteBuffer.allocate(100), ByteBuffer.allocate(cipher.recordLength(100) - 1)));
                assertEquals(0, header.position());
                assertEquals(0, body.position());
                assertEquals(0, trailer.position());
                // Sequence 3 is still unused: sealing it now succeeds (a consumed nonce would be refused).
                ByteBuffer payload = ByteBuffer.allocate(100);
                cipher.seal(3, (byte) 23, payload, header, body, trailer);
                assertEquals(100, body.position());
                assertThrows(IllegalStateException.class, () -> cipher.seal(3, (byte) 23, ByteBuffer.allocate(100),
                        ByteBuffer.allocate(20), ByteBuffer.allocate(100), ByteBuffer.allocate(20)),
                        suite + ": sealing a sequence number twice is refused by the provider");
            }
        }
    }

    @Test
    void openWithTooLittleRoomIsMisuse() throws Exception {
        try (TrafficKeys keys = keys(TLS13); RecordCipher cipher = RecordCipher.create(keys)) {
            byte[] record = ReferenceRecords.tls13(TLS13, keys.key(), keys.iv(), 0, (byte) 23, payload(100), 0);
            assertThrows(IllegalArgumentException.class,
                         () -> cipher.open(0, ByteBuffer.wrap(record), ByteBuffer.allocate(100)));
            assertEquals(23, cipher.open(0, ByteBuffer.wrap(record), ByteBuffer.allocate(101)));
        }
    }
}
