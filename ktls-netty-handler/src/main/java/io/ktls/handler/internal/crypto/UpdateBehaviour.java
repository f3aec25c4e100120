package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;

import javax.crypto.Cipher;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Whether a provider's {@code Cipher.update(ByteBuffer, ByteBuffer)} accepts an output buffer exactly as long
 * as its input when encrypting. SunJCE AES-GCM does; SunJCE ChaCha20-Poly1305 (JDK 17) and the Amazon Corretto
 * provider demand room for the tag too ("need at least n + 16 bytes"). Found out once per provider and AEAD
 * with a throwaway key, so that the heap seal path needs the 16-byte reserve only where it must.
 *
 * <p>Thread-safe: a concurrent map; two threads probing at once both get the same answer.
 */
final class UpdateBehaviour {

    private static final ConcurrentMap<String, Boolean> EXACT_OUTPUT = new ConcurrentHashMap<>();

    private UpdateBehaviour() {
    }

    static boolean acceptsExactOutput(AeadProvider provider, AeadAlgorithm algorithm) {
        return EXACT_OUTPUT.computeIfAbsent(provider.name() + '/' + algorithm, k -> probe(provider, algorithm));
    }

    private static boolean probe(AeadProvider provider, AeadAlgorithm algorithm) {
        RecordKey throwaway = new RecordKey(algorithm.keyAlgorithm(),
                                            new byte[algorithm == AeadAlgorithm.AES_GCM ? 16 : 32]);
        try {
            Cipher cipher = provider.newCipher(algorithm);
            byte[] nonce = new byte[12];
            cipher.init(Cipher.ENCRYPT_MODE, throwaway, algorithm == AeadAlgorithm.AES_GCM
                    ? new GCMParameterSpec(128, nonce) : new IvParameterSpec(nonce));
            cipher.update(ByteBuffer.allocate(64), ByteBuffer.allocate(64));
            return true;
        } catch (ShortBufferException e) {
            return false;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false; // the reserve works everywhere: when in doubt, use it
        } finally {
            throwaway.destroy();
        }
    }
}
