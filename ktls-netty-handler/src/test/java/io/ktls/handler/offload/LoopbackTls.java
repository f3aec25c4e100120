package io.ktls.handler.offload;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * TLS 1.3 AES-128-GCM contexts for loopback tests: a BoringSSL server with an ECDSA P-256 certificate made
 * once per JVM, and a client (Netty's {@code SslHandler}, BoringSSL) trusting it.
 */
final class LoopbackTls {

    static final String SUITE = "TLS_AES_128_GCM_SHA256";

    private static final class Holder {
        static final LoopbackTls INSTANCE = new LoopbackTls();
    }

    private final SslContext server;
    private final SslContext client;

    private LoopbackTls() {
        try {
            Instant now = Instant.now();
            X509Bundle certificate = new CertificateBuilder()
                    .notBefore(now.minus(1, ChronoUnit.DAYS))
                    .notAfter(now.plus(2, ChronoUnit.DAYS))
                    .subject("CN=localhost")
                    .addSanDnsName("localhost")
                    .addSanIpAddress("127.0.0.1")
                    .ecp256()
                    .setIsCertificateAuthority(true)
                    .buildSelfSigned();
            server = SslContextBuilder.forServer(certificate.getKeyPair().getPrivate(),
                            certificate.getCertificatePath())
                    .sslProvider(SslProvider.OPENSSL)
                    .protocols("TLSv1.3")
                    .build();
            client = SslContextBuilder.forClient()
                    .sslProvider(SslProvider.OPENSSL)
                    .protocols("TLSv1.3")
                    .ciphers(List.of(SUITE))
                    .trustManager(certificate.getCertificate())
                    .build();
        } catch (Exception e) {
            throw new IllegalStateException("cannot build the test TLS contexts", e);
        }
    }

    static SslContext server() {
        return Holder.INSTANCE.server;
    }

    static SslContext client() {
        return Holder.INSTANCE.client;
    }
}
