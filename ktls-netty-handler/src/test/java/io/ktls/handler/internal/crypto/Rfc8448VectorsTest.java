package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * RFC 8448 section 3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256): the application traffic secrets, the
 * keys and IVs HKDF-Expand-Label derives from them, and the application data and close_notify records, byte
 * for byte, through every available provider.
 */
class Rfc8448VectorsTest {

    // {server} derive secret "tls13 c ap traffic" / "tls13 s ap traffic": expanded
    static final String CLIENT_AP_SECRET =
            "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";
    static final String SERVER_AP_SECRET =
            "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";
    // {client|server} derive write traffic keys for application data: key expanded, iv expanded
    static final String CLIENT_AP_KEY = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
    static final String CLIENT_AP_IV = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";
    static final String SERVER_AP_KEY = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
    static final String SERVER_AP_IV = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
    // {client|server} send application_data record: payload (50 octets) 00 01 .. 31, complete record (72 octets)
    static final String CLIENT_APP_RECORD =
            "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea"
            + "42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b"
            + "62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
    /** The server's second record under its application keys: sequence 1 (the NewSessionTicket was 0). */
    static final String SERVER_APP_RECORD =
            "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc"
            + "32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8"
            + "fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
    /** {client} send alert record: close_notify (01 00) at client sequence 1. */
    static final String CLIENT_ALERT_RECORD =
            "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";

    static List<AeadProvider> providers() {
        return AeadProviders.available();
    }

    static byte[] applicationPayload() {
        byte[] payload = new byte[50];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) i;
        }
        return payload;
    }

    @Test
    void hkdfExpandLabelDerivesThePublishedApplicationKeysAndIvs() {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        try (TrafficKeys client = TrafficKeys.tls13(suite, Hex.decode(CLIENT_AP_SECRET));
             TrafficKeys server = TrafficKeys.tls13(suite, Hex.decode(SERVER_AP_SECRET))) {
            assertEquals(Hex.encode(Hex.decode(CLIENT_AP_KEY)), Hex.encode(client.key()));
            assertEquals(Hex.encode(Hex.decode(CLIENT_AP_IV)), Hex.encode(client.iv()));
            assertEquals(Hex.encode(Hex.decode(SERVER_AP_KEY)), Hex.encode(server.key()));
            assertEquals(Hex.encode(Hex.decode(SERVER_AP_IV)), Hex.encode(server.iv()));
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void sealProducesThePublishedClientApplicationRecord(AeadProvider provider) {
        assertSealsTo(provider, CLIENT_AP_SECRET, 0, RecordCipher.APPLICATION_DATA, applicationPayload(),
                      CLIENT_APP_RECORD);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void sealProducesThePublishedServerApplicationRecordAtSequenceOne(AeadProvider provider) {
        assertSealsTo(provider, SERVER_AP_SECRET, 1, RecordCipher.APPLICATION_DATA, applicationPayload(),
                      SERVER_APP_RECORD);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void sealProducesThePublishedCloseNotifyRecord(AeadProvider provider) {
        assertSealsTo(provider, CLIENT_AP_SECRET, 1, RecordCipher.ALERT, new byte[] {1, 0}, CLIENT_ALERT_RECORD);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void openRecoversThePayloadOfThePublishedRecords(AeadProvider provider) throws Exception {
        try (TrafficKeys keys = TrafficKeys.tls13(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Hex.decode(SERVER_AP_SECRET));
             RecordCipher cipher = RecordCipher.create(keys.suite(), keys, provider)) {
            ByteBuffer record = ByteBuffer.wrap(Hex.decode(SERVER_APP_RECORD));
            ByteBuffer out = ByteBuffer.allocate(100);
            assertEquals(RecordCipher.APPLICATION_DATA, cipher.open(1, record, out));
            out.flip();
            byte[] payload = new byte[out.remaining()];
            out.get(payload);
            assertArrayEquals(applicationPayload(), payload);
            assertEquals(0, record.remaining());
        }
        try (TrafficKeys keys = TrafficKeys.tls13(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Hex.decode(CLIENT_AP_SECRET));
             RecordCipher cipher = RecordCipher.create(keys.suite(), keys, provider)) {
            ByteBuffer out = ByteBuffer.allocateDirect(100);
            assertEquals(RecordCipher.ALERT, cipher.open(1, ByteBuffer.wrap(Hex.decode(CLIENT_ALERT_RECORD)), out));
            assertEquals(2, out.position());
            assertEquals(1, out.get(0));
            assertEquals(0, out.get(1));
        }
    }

    private static void assertSealsTo(AeadProvider provider, String secret, long seq, byte type, byte[] payload,
                                      String expectedRecord) {
        String expected = Hex.encode(Hex.decode(expectedRecord));
        // A cipher refuses to seal twice with one nonce, so each layout gets its own cipher.
        try (TrafficKeys keys = TrafficKeys.tls13(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Hex.decode(secret));
             RecordCipher contiguousCipher = RecordCipher.create(keys.suite(), keys, provider);
             RecordCipher splitCipher = RecordCipher.create(keys.suite(), keys, provider)) {
            ByteBuffer contiguous = ByteBuffer.allocate(contiguousCipher.recordLength(payload.length));
            contiguousCipher.sealRecord(seq, type, ByteBuffer.wrap(payload), contiguous);
            assertEquals(expected, Hex.encode(contiguous.array()));

            // The same record sealed as header | body | trailer into direct buffers.
            ByteBuffer header = ByteBuffer.allocateDirect(splitCipher.headerLength());
            ByteBuffer body = ByteBuffer.allocateDirect(payload.length);
            ByteBuffer trailer = ByteBuffer.allocateDirect(splitCipher.trailerLength(payload.length));
            ByteBuffer direct = ByteBuffer.allocateDirect(payload.length);
            direct.put(payload).flip();
            splitCipher.seal(seq, type, direct, header, body, trailer);
            assertEquals(expected, Hex.encode(concat(header, body, trailer)));
        }
    }

    static byte[] concat(ByteBuffer... written) {
        int total = 0;
        for (ByteBuffer b : written) {
            total += b.position();
        }
        byte[] out = new byte[total];
        int offset = 0;
        for (ByteBuffer b : written) {
            ByteBuffer view = b.duplicate();
            view.flip();
            int n = view.remaining();
            view.get(out, offset, n);
            offset += n;
        }
        return out;
    }
}
