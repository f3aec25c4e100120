package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;

import java.util.Arrays;
import java.util.Objects;

/**
 * The key and IV that protect one direction of one connection, and in TLS 1.3 the traffic secret they come from
 * (kept so that a KeyUpdate can derive the next generation).
 *
 * <ul>
 *   <li>TLS 1.3 (RFC 8446 section 7.3): {@code key = HKDF-Expand-Label(secret, "key", "", keyLength)},
 *       {@code iv = HKDF-Expand-Label(secret, "iv", "", 12)}; after a KeyUpdate
 *       {@code secret' = HKDF-Expand-Label(secret, "traffic upd", "", hashLength)}.</li>
 *   <li>TLS 1.2: a slice of the key block, see {@link Tls12KeyBlock}; no secret, no next generation.</li>
 * </ul>
 *
 * <p>Key hygiene: the factories copy what they are given (callers zero their own arrays), {@link #close()} zeroes
 * every byte this object holds, and {@link #toString()} shows the suite only. A {@link RecordCipher} copies the
 * key and IV when it is created, so these keys can be closed right after, unless a KeyUpdate is still possible.
 *
 * <p>Threads: immutable until {@link #close()}; the owner closes it once no other thread creates ciphers from it,
 * and hands it between threads through a queue or an executor (which orders the hand-off).
 */
public final class TrafficKeys implements AutoCloseable {

    private static final String KEY_LABEL = "key";
    private static final String IV_LABEL = "iv";
    private static final String KEY_UPDATE_LABEL = "traffic upd";
    private static final byte[] EMPTY_CONTEXT = new byte[0];

    private final TlsCipherSuite suite;
    private final byte[] key;
    private final byte[] iv;
    /** TLS 1.3 only, {@code null} for TLS 1.2. */
    private final byte[] trafficSecret;
    private volatile boolean closed;

    private TrafficKeys(TlsCipherSuite suite, byte[] key, byte[] iv, byte[] trafficSecret) {
        this.suite = suite;
        this.key = key;
        this.iv = iv;
        this.trafficSecret = trafficSecret;
    }

    /**
     * Keys of a TLS 1.3 traffic secret, e.g. {@code SERVER_TRAFFIC_SECRET_0} of the key log.
     *
     * @param trafficSecret {@link TlsCipherSuite#hashLength()} bytes; copied, the caller zeroes its array
     */
    public static TrafficKeys tls13(TlsCipherSuite suite, byte[] trafficSecret) {
        checkTls13(suite, trafficSecret);
        return tls13(suite, trafficSecret, KeyDerivation::hkdfExpandLabel);
    }

    /** One {@code HKDF-Expand-Label} step; tests make one fail to prove what a failure leaves behind. */
    @FunctionalInterface
    interface LabelExpansion {
        byte[] expand(String hmacAlgorithm, byte[] secret, String label, byte[] context, int length);
    }

    static TrafficKeys tls13(TlsCipherSuite suite, byte[] trafficSecret, LabelExpansion expansion) {
        String hmac = suite.hmacAlgorithm();
        byte[] key = expansion.expand(hmac, trafficSecret, KEY_LABEL, EMPTY_CONTEXT, suite.keyLength());
        byte[] iv;
        try {
            iv = expansion.expand(hmac, trafficSecret, IV_LABEL, EMPTY_CONTEXT, suite.ivLength());
        } catch (RuntimeException | Error e) {
            Arrays.fill(key, (byte) 0); // derived, never handed out: nobody else would zero it
            throw e;
        }
        return new TrafficKeys(suite, key, iv, trafficSecret.clone());
    }

    /**
     * The keys of both directions of a TLS 1.3 connection from its two application traffic secrets:
     * {@code [client, server]}. A failure halfway closes what was already derived: no key is left unzeroed.
     */
    public static TrafficKeys[] tls13Directions(TlsCipherSuite suite, byte[] clientSecret, byte[] serverSecret) {
        return tls13Directions(suite, clientSecret, serverSecret, KeyDerivation::hkdfExpandLabel);
    }

    static TrafficKeys[] tls13Directions(TlsCipherSuite suite, byte[] clientSecret, byte[] serverSecret,
                                         LabelExpansion expansion) {
        checkTls13(suite, clientSecret);
        checkTls13(suite, serverSecret);
        TrafficKeys client = tls13(suite, clientSecret, expansion);
        TrafficKeys server;
        try {
            server = tls13(suite, serverSecret, expansion);
        } catch (RuntimeException | Error e) {
            client.close();
            throw e;
        }
        return new TrafficKeys[] {client, server};
    }

    private static void checkTls13(TlsCipherSuite suite, byte[] trafficSecret) {
        Objects.requireNonNull(suite, "suite");
        Objects.requireNonNull(trafficSecret, "trafficSecret");
        if (!suite.isTls13()) {
            throw new IllegalArgumentException("suite: " + suite + " (expected: a TLS 1.3 suite)");
        }
        if (trafficSecret.length != suite.hashLength()) {
            throw new IllegalArgumentException("trafficSecret: " + trafficSecret.length + " bytes (expected: "
                                               + suite.hashLength() + " for " + suite + ")");
        }
    }

    /**
     * Keys of the generation after {@code trafficSecret} (RFC 8446 section 7.2): what a KeyUpdate switches to.
     * Equivalent to {@code tls13(suite, trafficSecret).nextGeneration()} without the intermediate keys.
     */
    public static TrafficKeys tls13Next(TlsCipherSuite suite, byte[] trafficSecret) {
        if (trafficSecret.length != suite.hashLength()) {
            throw new IllegalArgumentException("trafficSecret: " + trafficSecret.length + " bytes (expected: "
                                               + suite.hashLength() + " for " + suite + ")");
        }
        byte[] next = nextSecret(suite, trafficSecret);
        try {
            return tls13(suite, next);
        } finally {
            Arrays.fill(next, (byte) 0);
        }
    }

    /** TLS 1.2 keys cut from a key block; takes ownership of both arrays. */
    static TrafficKeys tls12(TlsCipherSuite suite, byte[] key, byte[] iv) {
        assert !suite.isTls13() && key.length == suite.keyLength() && iv.length == suite.ivLength()
                : suite + " key " + key.length + " iv " + iv.length;
        return new TrafficKeys(suite, key, iv, null);
    }

    /**
     * The keys of the next generation, derived with {@code "traffic upd"} (RFC 8446 section 7.2) for a KeyUpdate.
     * This object stays open: close it once the old generation has no more records to protect.
     *
     * @throws IllegalStateException for TLS 1.2 keys (no KeyUpdate there) or after {@link #close()}
     */
    public TrafficKeys nextGeneration() {
        if (trafficSecret == null) {
            throw new IllegalStateException("nextGeneration: " + suite + " has no traffic secret (TLS 1.2)");
        }
        return tls13Next(suite, checkOpen(trafficSecret));
    }

    private static byte[] nextSecret(TlsCipherSuite suite, byte[] secret) {
        return KeyDerivation.hkdfExpandLabel(suite.hmacAlgorithm(), secret, KEY_UPDATE_LABEL, EMPTY_CONTEXT,
                                             suite.hashLength());
    }

    /** A copy of these keys that the caller owns and closes (a TLS 1.2 direction keeps one past its key block). */
    public TrafficKeys copy() {
        return new TrafficKeys(suite, checkOpen(key).clone(), iv.clone(),
                trafficSecret == null ? null : trafficSecret.clone());
    }

    public TlsCipherSuite suite() {
        return suite;
    }

    public boolean isClosed() {
        return closed;
    }

    /** Zeroes the key, the IV and the traffic secret. Idempotent. */
    @Override
    public void close() {
        closed = true;
        Arrays.fill(key, (byte) 0);
        Arrays.fill(iv, (byte) 0);
        if (trafficSecret != null) {
            Arrays.fill(trafficSecret, (byte) 0);
        }
    }

    /** The key itself, not a copy: callers in this package copy it and never let it escape. */
    byte[] key() {
        return checkOpen(key);
    }

    /** The IV (TLS 1.3, TLS 1.2 ChaCha20) or salt (TLS 1.2 AES-GCM) itself, not a copy. */
    byte[] iv() {
        return checkOpen(iv);
    }

    /** The TLS 1.3 traffic secret itself, {@code null} for TLS 1.2. */
    byte[] trafficSecret() {
        return trafficSecret == null ? null : checkOpen(trafficSecret);
    }

    /** Key, IV and secret without the closed check, for tests proving that close() zeroes them. */
    byte[][] materialForTest() {
        return trafficSecret == null ? new byte[][] {key, iv} : new byte[][] {key, iv, trafficSecret};
    }

    private byte[] checkOpen(byte[] material) {
        if (closed) {
            throw new IllegalStateException("traffic keys closed");
        }
        return material;
    }

    @Override
    public String toString() {
        return "TrafficKeys[" + suite + (closed ? ", closed]" : "]");
    }
}
