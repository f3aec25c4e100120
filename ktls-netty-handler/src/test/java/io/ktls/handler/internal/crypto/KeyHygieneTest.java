package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Key material must not outlive its use in places our own zeroing does not reach: the JCE objects keyed with it
 * (a {@code Cipher}'s round keys, an HMAC's padded key) and the keys derived before a derivation fails.
 */
class KeyHygieneTest {

    private static final byte[] PROBE = "probe: which key is in the provider now?".getBytes(StandardCharsets.US_ASCII);

    @ParameterizedTest
    @EnumSource(value = TlsCipherSuite.class, names = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"})
    void closingACipherRekeysItsProviderObjectWithAThrowawayKey(TlsCipherSuite suite) throws Exception {
        List<Cipher> made = new ArrayList<>();
        AeadProvider sunJce = AeadProviders.sunJce();
        AeadProvider capturing = new AeadProvider() {
            @Override
            public String name() {
                return "Capturing";
            }

            @Override
            public boolean supports(AeadAlgorithm aead) {
                return sunJce.supports(aead);
            }

            @Override
            public Cipher newCipher(AeadAlgorithm aead) throws GeneralSecurityException {
                Cipher cipher = sunJce.newCipher(aead);
                made.add(cipher);
                return cipher;
            }
        };
        try (TrafficKeys keys = keys(suite)) {
            RecordCipher cipher = RecordCipher.create(suite, keys, capturing);
            ByteBuffer out = ByteBuffer.allocate(cipher.recordLength(PROBE.length));
            cipher.sealRecord(5, RecordCipher.APPLICATION_DATA, ByteBuffer.wrap(PROBE), out);
            cipher.close();
        }
        // The record cipher's own is the first made (a provider probe may follow, see UpdateBehaviour).
        assertTrue(!made.isEmpty());
        Cipher provider = made.get(0);
        // The provider object now decrypts under an all-zero key: the traffic key and its round keys are gone.
        byte[] nonce = provider.getIV();
        byte[] sealedUnderZeroKey = encrypt(suite.aead(), new byte[suite.keyLength()], nonce, PROBE);
        assertArrayEquals(PROBE, provider.doFinal(sealedUnderZeroKey),
                "the provider's cipher does not hold the throwaway key after close()");
    }

    @Test
    void derivationRekeysItsHmacWithAThrowawayKey() throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        byte[] prk = new byte[32];
        Arrays.fill(prk, (byte) 0x5a);
        KeyDerivation.hkdfExpand(mac, prk, new byte[] {1, 2, 3}, 42);
        Mac zeroKeyed = Mac.getInstance("HmacSHA256");
        zeroKeyed.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
        assertArrayEquals(zeroKeyed.doFinal(PROBE), mac.doFinal(PROBE),
                "the HMAC still holds the secret's padded key after the derivation");
    }

    @ParameterizedTest(name = "failing step {0}")
    @ValueSource(ints = {2, 3, 4})
    void failureHalfwayThroughDerivationZeroesWhatWasDerived(int failingStep) {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        List<byte[]> derived = new ArrayList<>();
        TrafficKeys.LabelExpansion failing = (hmac, secret, label, context, length) -> {
            if (derived.size() + 1 == failingStep) {
                throw new IllegalStateException("injected derivation failure");
            }
            byte[] out = KeyDerivation.hkdfExpandLabel(hmac, secret, label, context, length);
            derived.add(out);
            return out;
        };
        byte[] clientSecret = new byte[suite.hashLength()];
        byte[] serverSecret = new byte[suite.hashLength()];
        Arrays.fill(clientSecret, (byte) 1);
        Arrays.fill(serverSecret, (byte) 2);
        // Steps: client key, client iv, server key, server iv.
        assertThrows(IllegalStateException.class,
                () -> TrafficKeys.tls13Directions(suite, clientSecret, serverSecret, failing));
        assertEquals(failingStep - 1, derived.size());
        for (int i = 0; i < derived.size(); i++) {
            assertTrue(isZero(derived.get(i)), "derived step " + (i + 1) + " was left with key material");
        }
    }

    private static boolean isZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static TrafficKeys keys(TlsCipherSuite suite) {
        if (suite.isTls13()) {
            byte[] secret = new byte[suite.hashLength()];
            Arrays.fill(secret, (byte) 3);
            return TrafficKeys.tls13(suite, secret);
        }
        byte[] key = new byte[suite.keyLength()];
        byte[] iv = new byte[suite.ivLength()];
        Arrays.fill(key, (byte) 4);
        Arrays.fill(iv, (byte) 5);
        return TrafficKeys.tls12(suite, key, iv);
    }

    private static byte[] encrypt(AeadAlgorithm aead, byte[] key, byte[] nonce, byte[] plaintext)
            throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance(aead.transformation());
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, aead.keyAlgorithm()),
                aead == AeadAlgorithm.AES_GCM ? new GCMParameterSpec(128, nonce) : new IvParameterSpec(nonce));
        return cipher.doFinal(plaintext);
    }
}
