package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link KtlsSniHandler} with three certificates (a.test, *.b.test, and the default localhost one): the name sent
 * chooses the certificate presented, every connection then runs on the record layer, and a name with no context
 * is refused with {@code unrecognized_name}.
 */
class KtlsSniHandlerTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static X509Bundle certA;
    private static X509Bundle certB;

    @TempDir
    Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        Instant now = Instant.now();
        CertificateBuilder server = new CertificateBuilder().notBefore(now.minus(1, ChronoUnit.DAYS))
                .notAfter(now.plus(2, ChronoUnit.DAYS)).addExtendedKeyUsageServerAuth();
        certA = server.copy().addSanDnsName("a.test").subject("CN=a.test").ecp256()
                .buildIssuedBy(TestTls.get().ca);
        certB = server.copy().addSanDnsName("www.b.test").subject("CN=b.test").ecp256()
                .buildIssuedBy(TestTls.get().ca);
    }

    private static SslContext serverContext(X509Bundle cert) throws Exception {
        return SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3").build();
    }

    private static Mapping<String, SslContext> wildcardMapping() throws Exception {
        return new DomainWildcardMappingBuilder<>(TestTls.get().server(SUITE))
                .add("a.test", serverContext(certA))
                .add("*.b.test", serverContext(certB))
                .build();
    }

    @Test
    void eachNameGetsItsCertificateAndTheRecordLayer() throws Exception {
        Mapping<String, SslContext> mapping = wildcardMapping();
        assertEquals("CN=a.test", download(mapping, "a.test").subject);
        assertEquals("CN=b.test", download(mapping, "www.b.test").subject);
    }

    @Test
    void noServerNameGetsTheDefault() throws Exception {
        Served served = download(wildcardMapping(), null);
        assertEquals("CN=localhost ECDSA", served.subject);
        assertNull(served.sni.hostname());
    }

    @Test
    void aNameWithNoContextIsRefusedWithUnrecognizedName() throws Exception {
        Mapping<String, SslContext> onlyA = Map.of("a.test", serverContext(certA))::get;
        CompletableFuture<Throwable> serverError = new CompletableFuture<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsSniHandler(onlyA, KtlsConfig.defaults()),
                    new ChannelInboundHandlerAdapter() {
                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            serverError.complete(cause);
                        }
                    }));
            ExecutionException e = assertThrows(ExecutionException.class, () -> handshake(loopback, "c.test"));
            assertInstanceOf(SSLException.class, e.getCause());
            assertTrue(e.getCause().getMessage().toLowerCase(Locale.ROOT).contains("unrecognized_name"),
                       e.getCause().getMessage());
            Throwable cause = serverError.get(5, TimeUnit.SECONDS);
            assertInstanceOf(SSLHandshakeException.class, cause);
            assertTrue(cause.getMessage().contains("c.test"), cause.getMessage());
        }
    }

    private static final class Served {
        String subject;
        KtlsSniHandler sni;
    }

    /** A 100 kB file through a connection that sent {@code serverName}; returns the certificate presented. */
    private Served download(Mapping<String, SslContext> mapping, String serverName) throws Exception {
        byte[] content = KtlsHandlerFramingTest.random(100_000);
        Path file = dir.resolve("sni.bin");
        Files.write(file, content);
        Served served = new Served();
        CompletableFuture<ChannelHandlerContext> server = new CompletableFuture<>();
        CompletableFuture<SniCompletionEvent> sniEvent = new CompletableFuture<>();
        ByteCollector collector = new ByteCollector(content.length);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                KtlsSniHandler sni = new KtlsSniHandler(mapping, KtlsConfig.defaults());
                served.sni = sni;
                ch.pipeline().addLast(sni, new ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof SniCompletionEvent) {
                            sniEvent.complete((SniCompletionEvent) evt);
                        }
                        ctx.fireUserEventTriggered(evt);
                    }
                }, new OnHandshakeSuccess(ctx -> {
                    server.complete(ctx);
                    ctx.writeAndFlush(new DefaultFileRegion(file.toFile(), 0, content.length));
                }));
            });
            Channel client = handshake(loopback, serverName, collector);
            X509Certificate presented = (X509Certificate) client.pipeline().get(SslHandler.class).engine()
                    .getSession().getPeerCertificates()[0];
            served.subject = presented.getSubjectX500Principal().getName();
            assertArrayEquals(content, collector.received().get(30, TimeUnit.SECONDS));
            ChannelHandlerContext serverCtx = server.get(5, TimeUnit.SECONDS);
            assertTrue(serverCtx.pipeline().get(KtlsHandler.class).isRecordLayerActive(), "on the record layer");
            assertNull(serverCtx.pipeline().get(KtlsSniHandler.class), "the SNI handler left");
            assertTrue(sniEvent.get(5, TimeUnit.SECONDS).isSuccess());
            assertEquals(serverName, sniEvent.get().hostname());
            assertEquals(serverName, served.sni.hostname());
            client.close().sync();
        }
        return served;
    }

    /** A BoringSSL client trusting the test CA, sending {@code serverName} as SNI (none when null). */
    private static Channel handshake(Loopback loopback, String serverName, io.netty.channel.ChannelHandler... handlers)
            throws Exception {
        SslContext client = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3")
                .ciphers(List.of(SUITE.javaName())).trustManager(TestTls.get().ca.getCertificate())
                .endpointIdentificationAlgorithm(null) // the test reads the certificate presented itself
                .build();
        CompletableFuture<Channel> handshaken = new CompletableFuture<>();
        Channel channel = loopback.connect(ch -> {
            SslHandler ssl = serverName == null ? client.newHandler(ch.alloc())
                                                : client.newHandler(ch.alloc(), serverName, loopback.port());
            ch.pipeline().addLast(ssl).addLast(handlers);
            ssl.handshakeFuture().addListener(f -> {
                if (f.isSuccess()) {
                    handshaken.complete(ch);
                } else {
                    handshaken.completeExceptionally(f.cause());
                }
            });
        });
        return handshaken.get(10, TimeUnit.SECONDS);
    }
}
