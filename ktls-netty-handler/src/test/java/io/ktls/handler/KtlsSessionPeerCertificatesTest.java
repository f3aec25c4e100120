package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server's {@link KtlsSession} carries the client's certificates wherever the server asked for them, and
 * none where it did not (the engine is then not asked: the session is copied on every handshake).
 */
class KtlsSessionPeerCertificatesTest {

    @ParameterizedTest
    @EnumSource(value = ClientAuth.class)
    void serverSessionHoldsTheClientCertificateExactlyWhenAskedFor(ClientAuth clientAuth) throws Exception {
        TestTls tls = TestTls.get();
        Instant now = Instant.now();
        X509Bundle clientCert = new CertificateBuilder().subject("CN=ktls-netty test client")
                .notBefore(now.minus(1, ChronoUnit.DAYS)).notAfter(now.plus(2, ChronoUnit.DAYS))
                .addExtendedKeyUsageClientAuth().ecp256().buildIssuedBy(tls.ca);
        SslContext serverContext = SslContextBuilder.forServer(tls.ecdsa.getKeyPair().getPrivate(),
                        tls.ecdsa.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3")
                .clientAuth(clientAuth).trustManager(tls.ca.getCertificate())
                .build();
        SslContext clientContext = SslContextBuilder.forClient()
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3")
                .ciphers(java.util.List.of(TlsCipherSuite.TLS_AES_128_GCM_SHA256.javaName()))
                .trustManager(tls.ca.getCertificate())
                .keyManager(clientCert.getKeyPair().getPrivate(), clientCert.getCertificatePath())
                .build();
        CompletableFuture<KtlsHandler> server = new CompletableFuture<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                KtlsHandler handler = new KtlsHandler(serverContext, KtlsConfig.defaults());
                ch.pipeline().addLast(handler);
                server.complete(handler);
            });
            Channel client = loopback.connectTls(clientContext);
            KtlsHandler handler = server.get(10, TimeUnit.SECONDS);
            assertTrue(handler.handshakeFuture().await(10, TimeUnit.SECONDS));
            assertTrue(handler.handshakeFuture().isSuccess(), String.valueOf(handler.handshakeFuture().cause()));
            assertTrue(handler.isRecordLayerActive(), "the record layer took the connection over");
            SSLSession session = handler.session();
            assertTrue(session instanceof KtlsSession, "the session copied at the takeover");
            if (clientAuth == ClientAuth.NONE) {
                assertThrows(SSLPeerUnverifiedException.class, session::getPeerCertificates);
                assertThrows(SSLPeerUnverifiedException.class, session::getPeerPrincipal);
            } else {
                X509Certificate peer = (X509Certificate) session.getPeerCertificates()[0];
                assertEquals(clientCert.getCertificate(), peer);
                assertEquals(clientCert.getCertificate().getSubjectX500Principal(), session.getPeerPrincipal());
            }
            client.close().sync();
        }
    }
}
