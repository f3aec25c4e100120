package io.ktls.handler.crypto;

/**
 * The two AEADs of TLS's modern suites, named as the JCE names them.
 */
public enum AeadAlgorithm {
    /** AES in Galois/Counter Mode (NIST SP 800-38D), 128-bit tag. */
    AES_GCM("AES/GCM/NoPadding", "AES"),
    /** ChaCha20-Poly1305 (RFC 8439). */
    CHACHA20_POLY1305("ChaCha20-Poly1305", "ChaCha20");

    private final String transformation;
    private final String keyAlgorithm;

    AeadAlgorithm(String transformation, String keyAlgorithm) {
        this.transformation = transformation;
        this.keyAlgorithm = keyAlgorithm;
    }

    /** The {@link javax.crypto.Cipher#getInstance(String)} transformation. */
    public String transformation() {
        return transformation;
    }

    /** The algorithm name of the {@link javax.crypto.SecretKey} the cipher expects. */
    public String keyAlgorithm() {
        return keyAlgorithm;
    }
}
