package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyScheduleTest {

    /** The TLS 1.2 PRF test vector published for the IETF TLS working group (P_SHA256, 100 bytes). */
    @Test
    void tls12PrfSha256MatchesThePublishedVector() {
        byte[] out = KeyDerivation.tls12Prf("HmacSHA256", Hex.decode("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
                "test label", Hex.decode("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"), 100);
        assertEquals(Hex.encode(Hex.decode(
                "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a"
                + "6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab"
                + "4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01"
                + "87 34 7b 66")), Hex.encode(out));
    }

    /** The P_SHA384 companion vector of the same set (148 bytes). */
    @Test
    void tls12PrfSha384MatchesThePublishedVector() {
        byte[] out = KeyDerivation.tls12Prf("HmacSHA384", Hex.decode("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df"),
                "test label", Hex.decode("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65"), 148);
        assertEquals(Hex.encode(Hex.decode(
                "7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f d7 94 21 07 e8 1c 83 cd"
                + "e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0 e5 34 cb 40 0f ed 27 00 88 4f 9d c2 36 f8 0e dd"
                + "8b fa 96 11 44 c9 e8 d7 92 ec a7 22 a7 b3 2f c3 d4 16 d4 73 eb c2 c5 fd 4a bf da d0 5d 91 84 25"
                + "9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2 60 66 f2 ee a9 a6 92 36 a3 e5 26 55 c9 e9 ae e6"
                + "91 c8 f3 a2 68 54 30 8d 5e aa 3b e8 5e 09 90 70 3d 73 e5 6f")), Hex.encode(out));
    }

    /** RFC 8448 prints the HkdfLabel it expands: "key info (13 octets): 00 10 09 74 6c 73 31 33 20 6b 65 79 00". */
    @Test
    void hkdfExpandLabelEncodesTheLabelAsRfc8448Prints() throws Exception {
        byte[] secret = Hex.decode(Rfc8448VectorsTest.SERVER_AP_SECRET);
        byte[] info = Hex.decode("00 10 09 74 6c 73 31 33 20 6b 65 79 00");
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        mac.update(info);
        mac.update((byte) 1);
        byte[] expected = Arrays.copyOf(mac.doFinal(), 16);
        assertArrayEquals(expected, KeyDerivation.hkdfExpandLabel("HmacSHA256", secret, "key", new byte[0], 16));
        assertEquals(Hex.encode(Hex.decode(Rfc8448VectorsTest.SERVER_AP_KEY)), Hex.encode(expected));
    }

    /**
     * KeyUpdate (RFC 8446 7.2): secret' = HKDF-Expand-Label(secret, "traffic upd", "", Hash.length), computed
     * here by hand with the HkdfLabel spelled out, then the next generation's keys derived from it.
     */
    @ParameterizedTest
    @EnumSource(value = TlsCipherSuite.class,
                names = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"})
    void nextGenerationDerivesTrafficUpdSecretAndItsKeys(TlsCipherSuite suite) throws Exception {
        byte[] secret = new byte[suite.hashLength()];
        for (int i = 0; i < secret.length; i++) {
            secret[i] = (byte) (i * 7 + 1);
        }
        byte[] label = "tls13 traffic upd".getBytes(StandardCharsets.US_ASCII);
        byte[] info = new byte[2 + 1 + label.length + 1];
        info[0] = 0;
        info[1] = (byte) suite.hashLength();
        info[2] = (byte) label.length;
        System.arraycopy(label, 0, info, 3, label.length);
        String hmac = suite.hashLength() == 32 ? "HmacSHA256" : "HmacSHA384";
        Mac mac = Mac.getInstance(hmac);
        mac.init(new SecretKeySpec(secret, hmac));
        mac.update(info);
        mac.update((byte) 1);
        byte[] expectedNext = mac.doFinal(); // one block: Hash.length bytes

        try (TrafficKeys current = TrafficKeys.tls13(suite, secret);
             TrafficKeys next = current.nextGeneration();
             TrafficKeys direct = TrafficKeys.tls13Next(suite, secret);
             TrafficKeys expected = TrafficKeys.tls13(suite, expectedNext)) {
            assertArrayEquals(expectedNext, next.trafficSecret());
            assertArrayEquals(expected.key(), next.key());
            assertArrayEquals(expected.iv(), next.iv());
            assertArrayEquals(expected.key(), direct.key());
            assertFalse(Arrays.equals(current.key(), next.key()));
            assertFalse(current.isClosed(), "nextGeneration leaves the current keys open");
        }
    }

    @Test
    void tls12KeyBlockCutsClientKeyServerKeyClientIvServerIvInThatOrder() {
        byte[] master = new byte[48];
        byte[] clientRandom = new byte[32];
        byte[] serverRandom = new byte[32];
        for (int i = 0; i < 48; i++) {
            master[i] = (byte) (0x40 + i);
        }
        for (int i = 0; i < 32; i++) {
            clientRandom[i] = (byte) i;
            serverRandom[i] = (byte) (0xF0 - i);
        }
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            if (suite.isTls13()) {
                continue;
            }
            byte[] seed = new byte[64];
            System.arraycopy(serverRandom, 0, seed, 0, 32);
            System.arraycopy(clientRandom, 0, seed, 32, 32);
            int k = suite.keyLength();
            int v = suite.ivLength();
            byte[] block = KeyDerivation.tls12Prf(suite.hashLength() == 32 ? "HmacSHA256" : "HmacSHA384", master,
                                                  "key expansion", seed, 2 * k + 2 * v);
            try (Tls12KeyBlock keys = Tls12KeyBlock.derive(suite, master, clientRandom, serverRandom)) {
                assertArrayEquals(Arrays.copyOfRange(block, 0, k), keys.clientWrite().key(), suite.name());
                assertArrayEquals(Arrays.copyOfRange(block, k, 2 * k), keys.serverWrite().key(), suite.name());
                assertArrayEquals(Arrays.copyOfRange(block, 2 * k, 2 * k + v), keys.clientWrite().iv(), suite.name());
                assertArrayEquals(Arrays.copyOfRange(block, 2 * k + v, 2 * k + 2 * v), keys.serverWrite().iv(),
                                  suite.name());
                assertEquals(suite.aead() == AeadAlgorithm.AES_GCM ? 4 : 12, keys.clientWrite().iv().length);
                assertNull(keys.clientWrite().trafficSecret());
                assertThrows(IllegalStateException.class, keys.clientWrite()::nextGeneration);
            }
        }
    }

    @Test
    void closeZeroesEveryByteOfTheTrafficKeys() {
        TrafficKeys keys = TrafficKeys.tls13(TlsCipherSuite.TLS_AES_256_GCM_SHA384, new byte[48]);
        byte[][] material = keys.materialForTest();
        assertEquals(3, material.length);
        assertFalse(allZero(material[0]), "a derived key is not all zero");
        keys.close();
        for (byte[] m : material) {
            assertTrue(allZero(m));
        }
        assertTrue(keys.isClosed());
        assertThrows(IllegalStateException.class, keys::key);
        assertThrows(IllegalStateException.class, keys::nextGeneration);
        keys.close(); // idempotent
    }

    @Test
    void factoriesRejectWrongLengthsAndVersions() {
        assertThrows(IllegalArgumentException.class,
                     () -> TrafficKeys.tls13(TlsCipherSuite.TLS_AES_256_GCM_SHA384, new byte[32]));
        assertThrows(IllegalArgumentException.class,
                     () -> TrafficKeys.tls13(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, new byte[32]));
        assertThrows(IllegalArgumentException.class,
                     () -> Tls12KeyBlock.derive(TlsCipherSuite.TLS_AES_128_GCM_SHA256, new byte[48], new byte[32],
                                                new byte[32]));
        assertThrows(IllegalArgumentException.class,
                     () -> Tls12KeyBlock.derive(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, new byte[47],
                                                new byte[32], new byte[32]));
    }

    @Test
    void toStringNeverShowsKeyMaterial() {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 0xAB);
        try (TrafficKeys keys = TrafficKeys.tls13(TlsCipherSuite.TLS_AES_128_GCM_SHA256, secret);
             RecordCipher cipher = RecordCipher.create(keys)) {
            for (String s : new String[] {keys.toString(), cipher.toString()}) {
                assertFalse(s.toLowerCase().contains(Hex.encode(keys.key()).substring(0, 8)), s);
                assertFalse(s.toLowerCase().contains("abab"), s);
            }
        }
    }

    static boolean allZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
