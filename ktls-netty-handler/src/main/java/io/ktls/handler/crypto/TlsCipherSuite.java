package io.ktls.handler.crypto;

import java.util.Optional;

/**
 * The AEAD cipher suites whose record layer this module implements: the three TLS 1.3 suites and the six
 * TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305. Everything else stays on Netty's {@code SslHandler}.
 *
 * <p>Each constant knows its record-layer parameters (key, IV, explicit nonce and tag lengths) and the hash of
 * its key schedule (HKDF in TLS 1.3, the PRF in TLS 1.2). Immutable, shared freely between threads.
 */
public enum TlsCipherSuite {
    TLS_AES_128_GCM_SHA256(0x1301, true, "TLS_AES_128_GCM_SHA256", "AEAD-AES128-GCM-SHA256",
            AeadAlgorithm.AES_GCM, 16, Hash.SHA256),
    TLS_AES_256_GCM_SHA384(0x1302, true, "TLS_AES_256_GCM_SHA384", "AEAD-AES256-GCM-SHA384",
            AeadAlgorithm.AES_GCM, 32, Hash.SHA384),
    TLS_CHACHA20_POLY1305_SHA256(0x1303, true, "TLS_CHACHA20_POLY1305_SHA256", "AEAD-CHACHA20-POLY1305-SHA256",
            AeadAlgorithm.CHACHA20_POLY1305, 32, Hash.SHA256),

    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256(0xC02B, false, "ECDHE-ECDSA-AES128-GCM-SHA256", null,
            AeadAlgorithm.AES_GCM, 16, Hash.SHA256),
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256(0xC02F, false, "ECDHE-RSA-AES128-GCM-SHA256", null,
            AeadAlgorithm.AES_GCM, 16, Hash.SHA256),
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384(0xC02C, false, "ECDHE-ECDSA-AES256-GCM-SHA384", null,
            AeadAlgorithm.AES_GCM, 32, Hash.SHA384),
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384(0xC030, false, "ECDHE-RSA-AES256-GCM-SHA384", null,
            AeadAlgorithm.AES_GCM, 32, Hash.SHA384),
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256(0xCCA9, false, "ECDHE-ECDSA-CHACHA20-POLY1305", null,
            AeadAlgorithm.CHACHA20_POLY1305, 32, Hash.SHA256),
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256(0xCCA8, false, "ECDHE-RSA-CHACHA20-POLY1305", null,
            AeadAlgorithm.CHACHA20_POLY1305, 32, Hash.SHA256);

    /** Protocol name of TLS 1.3 as {@code SSLSession.getProtocol()} reports it. */
    public static final String TLS13 = "TLSv1.3";
    /** Protocol name of TLS 1.2 as {@code SSLSession.getProtocol()} reports it. */
    public static final String TLS12 = "TLSv1.2";

    /** Both AEADs of this module authenticate with a 128-bit tag (RFC 5116, RFC 8439). */
    private static final int TAG_LENGTH = 16;
    /** RFC 5288 section 3: the per-record part of the TLS 1.2 GCM nonce travels in the record. */
    private static final int GCM_EXPLICIT_NONCE_LENGTH = 8;

    /** RFC 8446 5.5: 2^24.5 full-size AES-GCM records per key keep a 2^-57 margin; 2^24 keeps more. */
    private static final long AES_GCM_MAX_RECORDS_PER_KEY = 1L << 24;

    private final int ianaCode;
    private final boolean tls13;
    private final String openSslName;
    private final String legacyBoringSslName;
    private final AeadAlgorithm aead;
    private final int keyLength;
    private final Hash hash;

    TlsCipherSuite(int ianaCode, boolean tls13, String openSslName, String legacyBoringSslName,
                   AeadAlgorithm aead, int keyLength, Hash hash) {
        this.ianaCode = ianaCode;
        this.tls13 = tls13;
        this.openSslName = openSslName;
        this.legacyBoringSslName = legacyBoringSslName;
        this.aead = aead;
        this.keyLength = keyLength;
        this.hash = hash;
    }

    /**
     * Finds the suite negotiated on a connection.
     *
     * @param protocol  {@code "TLSv1.3"} or {@code "TLSv1.2"}, as {@code SSLSession.getProtocol()} reports it
     * @param suiteName the IANA/Java name ({@code TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, which is also what
     *                  BoringSSL reports through Netty) or the OpenSSL name ({@code ECDHE-RSA-AES128-GCM-SHA256})
     * @return the suite, or empty when this module does not implement it for that protocol (the caller then
     *         stays on {@code SslHandler})
     */
    public static Optional<TlsCipherSuite> of(String protocol, String suiteName) {
        if (protocol == null || suiteName == null) {
            return Optional.empty();
        }
        final boolean wantTls13;
        if (TLS13.equals(protocol)) {
            wantTls13 = true;
        } else if (TLS12.equals(protocol)) {
            wantTls13 = false;
        } else {
            return Optional.empty();
        }
        for (TlsCipherSuite suite : values()) {
            if (suite.tls13 == wantTls13 && suite.hasName(suiteName)) {
                return Optional.of(suite);
            }
        }
        return Optional.empty();
    }

    private boolean hasName(String suiteName) {
        return name().equals(suiteName) || openSslName.equals(suiteName)
               || suiteName.equals(legacyBoringSslName);
    }

    /** {@code true} for the three TLS 1.3 suites. */
    public boolean isTls13() {
        return tls13;
    }

    /** {@code "TLSv1.3"} or {@code "TLSv1.2"}. */
    public String protocol() {
        return tls13 ? TLS13 : TLS12;
    }

    /** The IANA / JSSE name, e.g. {@code TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}. */
    public String javaName() {
        return name();
    }

    /** The OpenSSL name, e.g. {@code ECDHE-RSA-AES128-GCM-SHA256} (TLS 1.3 suites keep their IANA name). */
    public String openSslName() {
        return openSslName;
    }

    /** The two-byte code point of the IANA TLS Cipher Suites registry. */
    public int ianaCode() {
        return ianaCode;
    }

    /** The AEAD that protects records of this suite. */
    public AeadAlgorithm aead() {
        return aead;
    }

    /** AEAD key length in bytes: 16 or 32. */
    public int keyLength() {
        return keyLength;
    }

    /**
     * Length in bytes of the IV that the key schedule derives: 12 in TLS 1.3 and for TLS 1.2 ChaCha20-Poly1305
     * (RFC 7905), 4 for TLS 1.2 AES-GCM (the implicit "salt" of RFC 5288).
     */
    public int ivLength() {
        return !tls13 && aead == AeadAlgorithm.AES_GCM ? 4 : 12;
    }

    /** AEAD tag length in bytes: 16 for every suite here. */
    public int tagLength() {
        return TAG_LENGTH;
    }

    /** Bytes of nonce carried in each record after the header: 8 for TLS 1.2 AES-GCM, 0 otherwise. */
    public int explicitNonceLength() {
        return !tls13 && aead == AeadAlgorithm.AES_GCM ? GCM_EXPLICIT_NONCE_LENGTH : 0;
    }

    /**
     * How many records one key may protect before TLS 1.3 must switch keys with a KeyUpdate (RFC 8446 5.5):
     * 2^24 for AES-GCM (the RFC allows 2^24.5 full-size records; we keep a margin), and for ChaCha20-Poly1305
     * no AEAD limit before the sequence number itself runs out ({@link Long#MAX_VALUE} here). TLS 1.2 has no
     * KeyUpdate: a TLS 1.2 connection reaching this limit closes.
     */
    public long maxRecordsPerKey() {
        return aead == AeadAlgorithm.AES_GCM ? AES_GCM_MAX_RECORDS_PER_KEY : Long.MAX_VALUE;
    }

    /** The key schedule's hash as a {@link java.security.MessageDigest} name: {@code SHA-256} or {@code SHA-384}. */
    public String hashAlgorithm() {
        return hash.digestName;
    }

    /** Output length in bytes of {@link #hashAlgorithm()}: 32 or 48; the length of a TLS 1.3 traffic secret. */
    public int hashLength() {
        return hash.length;
    }

    /** The {@link javax.crypto.Mac} name for HKDF / the PRF: {@code HmacSHA256} or {@code HmacSHA384}. */
    public String hmacAlgorithm() {
        return hash.hmacName;
    }

    private enum Hash {
        SHA256("SHA-256", "HmacSHA256", 32),
        SHA384("SHA-384", "HmacSHA384", 48);

        final String digestName;
        final String hmacName;
        final int length;

        Hash(String digestName, String hmacName, int length) {
            this.digestName = digestName;
            this.hmacName = hmacName;
            this.length = length;
        }
    }
}
