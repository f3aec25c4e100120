package io.ktls.handler.interop;

import java.util.Arrays;
import java.util.List;

/**
 * One TLS version and cipher suite the record layer implements, with the way each peer names it.
 *
 * <p>The server offers every case at once; each peer is restricted to one suite, and the tests assert on the
 * server side that exactly that suite was negotiated. TLS 1.2 ECDHE-ECDSA suites need the ECDSA certificate
 * and ECDHE-RSA suites the RSA one; TLS 1.3 suites do not depend on the certificate, so they alternate
 * between the two to cover both signature kinds in TLS 1.3 handshakes too.
 */
enum CipherCase {
    TLS13_AES_128_GCM("TLSv1.3", "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256",
            "AES-128-GCM", null, CertificateKind.ECDSA),
    TLS13_AES_256_GCM("TLSv1.3", "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384",
            "AES-256-GCM", null, CertificateKind.RSA),
    TLS13_CHACHA20_POLY1305("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
            "CHACHA20-POLY1305", null, CertificateKind.ECDSA),
    TLS12_ECDHE_ECDSA_AES_128_GCM("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256", "AES-128-GCM", "ECDHE-ECDSA", CertificateKind.ECDSA),
    TLS12_ECDHE_RSA_AES_128_GCM("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256", "AES-128-GCM", "ECDHE-RSA", CertificateKind.RSA),
    TLS12_ECDHE_ECDSA_AES_256_GCM("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "ECDHE-ECDSA-AES256-GCM-SHA384", "AES-256-GCM", "ECDHE-ECDSA", CertificateKind.ECDSA),
    TLS12_ECDHE_RSA_AES_256_GCM("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384", "AES-256-GCM", "ECDHE-RSA", CertificateKind.RSA),
    TLS12_ECDHE_ECDSA_CHACHA20_POLY1305("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-CHACHA20-POLY1305", "CHACHA20-POLY1305", "ECDHE-ECDSA", CertificateKind.ECDSA),
    TLS12_ECDHE_RSA_CHACHA20_POLY1305("TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE-RSA-CHACHA20-POLY1305", "CHACHA20-POLY1305", "ECDHE-RSA", CertificateKind.RSA);

    /** Which server certificate a case is served with. */
    enum CertificateKind { ECDSA, RSA }

    private final String protocol;
    private final String javaName;
    private final String openSslName;
    private final String gnutlsCipher;
    private final String gnutlsKeyExchange;
    private final CertificateKind certificate;

    CipherCase(String protocol, String javaName, String openSslName, String gnutlsCipher,
               String gnutlsKeyExchange, CertificateKind certificate) {
        this.protocol = protocol;
        this.javaName = javaName;
        this.openSslName = openSslName;
        this.gnutlsCipher = gnutlsCipher;
        this.gnutlsKeyExchange = gnutlsKeyExchange;
        this.certificate = certificate;
    }

    /** "TLSv1.3" or "TLSv1.2", as {@code SSLSession.getProtocol()} reports it. */
    String protocol() {
        return protocol;
    }

    boolean isTls13() {
        return "TLSv1.3".equals(protocol);
    }

    /** IANA / JSSE name, as {@code SSLSession.getCipherSuite()} reports it. */
    String javaName() {
        return javaName;
    }

    /** OpenSSL's name (curl --ciphers / --tls13-ciphers, s_client -cipher / -ciphersuites). */
    String openSslName() {
        return openSslName;
    }

    CertificateKind certificate() {
        return certificate;
    }

    /** A GnuTLS priority string admitting only this version and suite (gnutls-cli --priority, wget --ciphers). */
    String gnutlsPriority() {
        String priority = "NORMAL:-VERS-ALL:+VERS-" + (isTls13() ? "TLS1.3" : "TLS1.2")
                + ":-CIPHER-ALL:+" + gnutlsCipher;
        return gnutlsKeyExchange == null ? priority : priority + ":-KX-ALL:+" + gnutlsKeyExchange;
    }

    /** Arguments restricting curl to this version and suite. */
    List<String> curlArguments() {
        return isTls13()
                ? List.of("--tlsv1.3", "--tls-max", "1.3", "--tls13-ciphers", openSslName)
                : List.of("--tlsv1.2", "--tls-max", "1.2", "--ciphers", openSslName);
    }

    /** Arguments restricting openssl s_client to this version and suite. */
    List<String> openSslClientArguments() {
        return isTls13()
                ? List.of("-tls1_3", "-ciphersuites", openSslName)
                : List.of("-tls1_2", "-cipher", openSslName);
    }

    /** The server's suite list: every case, so that only the peer's restriction decides. */
    static List<String> allJavaNames() {
        return Arrays.stream(values()).map(CipherCase::javaName).toList();
    }

    @Override
    public String toString() {
        return protocol + " " + javaName;
    }
}
