package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/** Certificates (generated once per JVM) and TLS contexts pinned to one protocol and suite, for tests. */
final class TestTls {

    private static volatile TestTls instance;

    final X509Bundle ca;
    final X509Bundle ecdsa;
    final X509Bundle rsa;

    private TestTls() throws Exception {
        Instant now = Instant.now();
        CertificateBuilder base = new CertificateBuilder()
                .notBefore(now.minus(1, ChronoUnit.DAYS))
                .notAfter(now.plus(2, ChronoUnit.DAYS));
        ca = base.copy().subject("CN=ktls-netty test CA").setIsCertificateAuthority(true).ecp256()
                .buildSelfSigned();
        CertificateBuilder server = base.copy().addSanDnsName("localhost").addSanIpAddress("127.0.0.1")
                .addExtendedKeyUsageServerAuth();
        ecdsa = server.copy().subject("CN=localhost ECDSA").ecp256().buildIssuedBy(ca);
        rsa = server.copy().subject("CN=localhost RSA").rsa2048().buildIssuedBy(ca);
    }

    static TestTls get() {
        TestTls tls = instance;
        if (tls == null) {
            synchronized (TestTls.class) {
                tls = instance;
                if (tls == null) {
                    try {
                        tls = instance = new TestTls();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }
        return tls;
    }

    static String protocolOf(TlsCipherSuite suite) {
        return suite.isTls13() ? "TLSv1.3" : "TLSv1.2";
    }

    /** A BoringSSL server context for {@code suite} (ECDSA certificate unless the suite is an RSA one). */
    SslContext server(TlsCipherSuite suite, String... alpn) throws Exception {
        X509Bundle cert = suite.name().contains("_RSA_") ? rsa : ecdsa;
        SslContextBuilder builder = SslContextBuilder.forServer(cert.getKeyPair().getPrivate(),
                        cert.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL)
                .protocols(protocolOf(suite));
        if (!suite.isTls13()) {
            builder.ciphers(List.of(suite.javaName()));
        }
        return withAlpn(builder, alpn).build();
    }

    /** A client context of {@code provider} offering only {@code suite}, trusting the test CA. */
    SslContext client(SslProvider provider, TlsCipherSuite suite, String... alpn) throws Exception {
        SslContextBuilder builder = SslContextBuilder.forClient()
                .sslProvider(provider)
                .protocols(protocolOf(suite))
                .ciphers(List.of(suite.javaName()))
                .trustManager(ca.getCertificate());
        return withAlpn(builder, alpn).build();
    }

    /** Offers {@code alpn} (in order) when there are any; a peer not speaking one of them still connects. */
    private static SslContextBuilder withAlpn(SslContextBuilder builder, String... alpn) {
        if (alpn.length > 0) {
            builder.applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
                    io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                    alpn));
        }
        return builder;
    }
}
