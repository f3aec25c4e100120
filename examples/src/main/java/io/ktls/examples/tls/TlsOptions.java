package io.ktls.examples.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * The TLS options the example programs share ({@code --cert}, {@code --key}, {@code --protocols},
 * {@code --ciphers}) and the {@link SslContext}s made from them. Contexts always use the OpenSSL
 * (BoringSSL) provider: it is what {@code KtlsHandler} hands the handshake to, and the fastest
 * {@code SslHandler} to compare with.
 *
 * <p>Cipher suites may be given by IANA ({@code TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}) or OpenSSL
 * ({@code ECDHE-RSA-AES128-GCM-SHA256}) name. BoringSSL does not let a server restrict its TLS 1.3 suites;
 * they are chosen by preference (AES-128-GCM first on machines with AES instructions).
 */
public final class TlsOptions {

    private final Path certChainFile;
    private final Path keyFile;
    private final List<String> protocols;
    private final List<String> ciphers;

    /**
     * @param certChainFile PEM certificate chain, or null for a generated self-signed certificate
     * @param keyFile       PEM PKCS#8 private key, null exactly when {@code certChainFile} is null
     * @param protocols     e.g. {@code [TLSv1.3, TLSv1.2]}, or null for the provider's defaults
     * @param ciphers       IANA or OpenSSL names, or null for the provider's defaults
     */
    public TlsOptions(Path certChainFile, Path keyFile, List<String> protocols, List<String> ciphers) {
        if ((certChainFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("certChainFile and keyFile go together: " + certChainFile
                    + ", " + keyFile);
        }
        this.certChainFile = certChainFile;
        this.keyFile = keyFile;
        this.protocols = protocols == null ? null : List.copyOf(protocols);
        this.ciphers = ciphers == null ? null : List.copyOf(ciphers);
    }

    public boolean generatesCertificate() {
        return certChainFile == null;
    }

    /**
     * A server context.
     *
     * @throws SSLException when the certificate, key, protocols or ciphers are refused (the message says
     *                      which)
     */
    public SslContext newServerContext() throws SSLException, GeneralSecurityException {
        requireOpenSsl();
        SslContextBuilder builder;
        if (certChainFile == null) {
            SelfSignedCertificate generated = SelfSignedCertificate.generate(SelfSignedCertificate.KeyType.EC_P256);
            builder = SslContextBuilder.forServer(generated.privateKey(), generated.certificate());
        } else {
            try {
                builder = SslContextBuilder.forServer(certChainFile.toFile(), keyFile.toFile());
            } catch (IllegalArgumentException e) {
                throw new SSLException("cannot read --cert " + certChainFile + " / --key " + keyFile + ": "
                        + e.getMessage(), e);
            }
        }
        return configure(builder).build();
    }

    /**
     * A client context that trusts any server certificate: for benchmarking against a server with a
     * generated certificate on a trusted network, never for anything else.
     */
    public SslContext newInsecureClientContext() throws SSLException {
        requireOpenSsl();
        return configure(SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE))
                .build();
    }

    private SslContextBuilder configure(SslContextBuilder builder) {
        builder.sslProvider(SslProvider.OPENSSL);
        if (protocols != null) {
            builder.protocols(protocols);
        }
        if (ciphers != null) {
            // Refuse names the provider does not know instead of silently dropping them.
            for (String cipher : ciphers) {
                if (!OpenSsl.isCipherSuiteAvailable(cipher)) {
                    throw new IllegalArgumentException("--ciphers: unsupported cipher suite: " + cipher);
                }
            }
            builder.ciphers(ciphers, IdentityCipherSuiteFilter.INSTANCE);
        }
        return builder;
    }

    private static void requireOpenSsl() throws SSLException {
        if (!OpenSsl.isAvailable()) {
            throw new SSLException("the OpenSSL (BoringSSL) provider is not available: "
                    + OpenSsl.unavailabilityCause(), OpenSsl.unavailabilityCause());
        }
    }

    @Override
    public String toString() {
        return "TlsOptions(cert=" + (certChainFile == null ? "generated" : certChainFile)
                + ", protocols=" + (protocols == null ? "default" : protocols)
                + ", ciphers=" + (ciphers == null ? "default" : ciphers) + ')';
    }
}
