package io.ktls.handler.internal.crypto;

import javax.crypto.SecretKey;
import java.util.Arrays;

/**
 * A raw secret key whose bytes we own and can zero, unlike {@link javax.crypto.spec.SecretKeySpec}, which keeps
 * a private copy and (up to JDK 25 at least) leaves {@link #destroy()} unimplemented.
 *
 * <p>What zeroing reaches: this object's array. What it cannot reach: the copies a JCE provider makes when a
 * {@link javax.crypto.Cipher} or {@link javax.crypto.Mac} is initialised ({@link #getEncoded()} hands out a clone,
 * SunJCE's AES keeps the last key and its round keys inside the cipher object, HMAC keeps its padded key). Those
 * live as long as the provider object, so its owners re-key it with a throwaway all-zero key when done with it
 * ({@code RecordAead.close()}, {@link KeyDerivation}), which overwrites the provider's copies in place; the
 * {@code getEncoded()} clones the provider took are its own to drop.
 *
 * <p>Not thread-safe beyond what its users guarantee: it is read by the thread that owns the cipher using it and
 * destroyed by the same owner on close.
 */
public final class RecordKey implements SecretKey {

    private static final long serialVersionUID = 1L;

    private final String algorithm;
    private final transient byte[] bytes;
    private transient boolean destroyed;

    /** Takes ownership of {@code bytes}: {@link #destroy()} zeroes that very array. */
    public RecordKey(String algorithm, byte[] bytes) {
        this.algorithm = algorithm;
        this.bytes = bytes;
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    /** A copy, as the {@link java.security.Key} contract wants; the provider may keep or zero it. */
    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("key destroyed");
        }
        return bytes.clone();
    }

    @Override
    public void destroy() {
        Arrays.fill(bytes, (byte) 0);
        destroyed = true;
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    /** Key length in bytes. */
    int length() {
        return bytes.length;
    }

    /** The very array this key zeroes, for tests that prove the zeroing. */
    byte[] bytesForTest() {
        return bytes;
    }

    @Override
    public String toString() {
        return "RecordKey[" + algorithm + ", " + bytes.length + " bytes" + (destroyed ? ", destroyed]" : "]");
    }
}
