package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;

import java.util.Arrays;
import java.util.Objects;

/**
 * The TLS 1.2 key block (RFC 5246 section 6.3) of an AEAD suite, cut into the client's and the server's write keys:
 *
 * <pre>
 * key_block = PRF(master_secret, "key expansion", server_random + client_random)
 *           = client_write_key[keyLength] | server_write_key[keyLength]
 *             | client_write_IV[ivLength] | server_write_IV[ivLength]
 * </pre>
 *
 * AEAD suites have no MAC keys. {@code ivLength} is 4 for AES-GCM (the salt of RFC 5288) and 12 for
 * ChaCha20-Poly1305 (RFC 7905). The server writes with {@link #serverWrite()} and reads with {@link #clientWrite()};
 * the client the other way round.
 *
 * <p>Threads: created and closed by the connection's owner; the two {@link TrafficKeys} follow their own rules.
 */
public final class Tls12KeyBlock implements AutoCloseable {

    private static final String KEY_EXPANSION_LABEL = "key expansion";
    /** RFC 5246 section 8.1: the master secret is always 48 bytes. */
    private static final int MASTER_SECRET_LENGTH = 48;
    /** RFC 5246 section 7.4.1.2: each hello random is 32 bytes. */
    private static final int RANDOM_LENGTH = 32;

    private final TrafficKeys clientWrite;
    private final TrafficKeys serverWrite;

    private Tls12KeyBlock(TrafficKeys clientWrite, TrafficKeys serverWrite) {
        this.clientWrite = clientWrite;
        this.serverWrite = serverWrite;
    }

    /**
     * Derives both directions' keys. Nothing given is kept: the caller zeroes {@code masterSecret}.
     *
     * @param masterSecret 48 bytes ({@code SSL.getMasterKey})
     * @param clientRandom 32 bytes of the ClientHello
     * @param serverRandom 32 bytes of the ServerHello
     */
    public static Tls12KeyBlock derive(TlsCipherSuite suite, byte[] masterSecret, byte[] clientRandom,
                                       byte[] serverRandom) {
        Objects.requireNonNull(suite, "suite");
        if (suite.isTls13()) {
            throw new IllegalArgumentException("suite: " + suite + " (expected: a TLS 1.2 suite)");
        }
        checkLength("masterSecret", masterSecret, MASTER_SECRET_LENGTH);
        checkLength("clientRandom", clientRandom, RANDOM_LENGTH);
        checkLength("serverRandom", serverRandom, RANDOM_LENGTH);

        byte[] seed = new byte[2 * RANDOM_LENGTH];
        System.arraycopy(serverRandom, 0, seed, 0, RANDOM_LENGTH);
        System.arraycopy(clientRandom, 0, seed, RANDOM_LENGTH, RANDOM_LENGTH);
        int keyLength = suite.keyLength();
        int ivLength = suite.ivLength();
        byte[] block = KeyDerivation.tls12Prf(suite.hmacAlgorithm(), masterSecret, KEY_EXPANSION_LABEL, seed,
                                              2 * keyLength + 2 * ivLength);
        byte[][] parts = new byte[4][];
        boolean done = false;
        try {
            int offset = 0;
            byte[] clientKey = parts[0] = Arrays.copyOfRange(block, offset, offset += keyLength);
            byte[] serverKey = parts[1] = Arrays.copyOfRange(block, offset, offset += keyLength);
            byte[] clientIv = parts[2] = Arrays.copyOfRange(block, offset, offset += ivLength);
            byte[] serverIv = parts[3] = Arrays.copyOfRange(block, offset, offset + ivLength);
            Tls12KeyBlock keys = new Tls12KeyBlock(TrafficKeys.tls12(suite, clientKey, clientIv),
                                                   TrafficKeys.tls12(suite, serverKey, serverIv));
            done = true;
            return keys;
        } finally {
            Arrays.fill(block, (byte) 0);
            if (!done) {
                // A failure halfway (out of memory): what was cut from the block is zeroed too.
                for (byte[] part : parts) {
                    if (part != null) {
                        Arrays.fill(part, (byte) 0);
                    }
                }
            }
        }
    }

    private static void checkLength(String name, byte[] value, int expected) {
        Objects.requireNonNull(value, name);
        if (value.length != expected) {
            throw new IllegalArgumentException(name + ": " + value.length + " bytes (expected: " + expected + ")");
        }
    }

    /** The keys the client seals with and the server opens with. */
    public TrafficKeys clientWrite() {
        return clientWrite;
    }

    /** The keys the server seals with and the client opens with. */
    public TrafficKeys serverWrite() {
        return serverWrite;
    }

    /** Closes (zeroes) both directions' keys. */
    @Override
    public void close() {
        clientWrite.close();
        serverWrite.close();
    }

    @Override
    public String toString() {
        return "Tls12KeyBlock[" + clientWrite.suite() + "]";
    }
}
