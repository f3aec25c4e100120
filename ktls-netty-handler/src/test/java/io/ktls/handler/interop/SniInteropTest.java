package io.ktls.handler.interop;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsHandler;
import io.ktls.handler.KtlsSniHandler;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link KtlsSniHandler} against curl and {@code openssl s_client}, which verify the certificate presented for the
 * name they send: two names with certificates of their own (a.test, b.test), no name at all (the default,
 * localhost's), and a name with no certificate (refused with {@code unrecognized_name}). The response says which
 * name was asked for and that the record layer carried it.
 */
@Tag("interop")
class SniInteropTest {

    private static EventLoopGroup group;
    private static Channel server;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        PeerBinary.require("curl", "curl");
        PeerBinary.require("openssl", "openssl");
        InteropPki pki = InteropPki.get();
        Instant now = Instant.now();
        CertificateBuilder base = new CertificateBuilder().notBefore(now.minus(1, ChronoUnit.DAYS))
                .notAfter(now.plus(2, ChronoUnit.DAYS)).addExtendedKeyUsageServerAuth();
        X509Bundle a = base.copy().addSanDnsName("a.test").subject("CN=a.test").ecp256().buildIssuedBy(pki.ca());
        X509Bundle b = base.copy().addSanDnsName("b.test").subject("CN=b.test").ecp256().buildIssuedBy(pki.ca());
        Mapping<String, SslContext> contexts =
                new DomainWildcardMappingBuilder<>(context(pki.server(CipherCase.CertificateKind.ECDSA)))
                        .add("a.test", context(a))
                        .add("b.test", context(b))
                        .build();
        Mapping<String, SslContext> refusing = name -> "c.test".equals(name) ? null : contexts.map(name);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new KtlsSniHandler(refusing, KtlsConfig.defaults()),
                                              new HttpServerCodec(), new WhoAmI());
                    }
                })
                .bind(InteropPki.HOST, 0).sync().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (server != null) {
            server.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }

    private static SslContext context(X509Bundle cert) throws Exception {
        return SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL).build();
    }

    /** Answers every request with the server name asked for and whether the record layer carries the answer. */
    private static final class WhoAmI extends SimpleChannelInboundHandler<HttpRequest> {
        private String serverName;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SniCompletionEvent) {
                serverName = ((SniCompletionEvent) evt).hostname();
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpRequest request) {
            KtlsHandler tls = ctx.pipeline().get(KtlsHandler.class);
            ByteBuf body = Unpooled.copiedBuffer("name=" + serverName + " recordLayer="
                    + (tls != null && tls.isRecordLayerActive()) + '\n', StandardCharsets.US_ASCII);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static ExternalProcess.Result curl(String name) throws Exception {
        List<String> command = new ArrayList<>(List.of("curl", "--silent", "--show-error", "--http1.1",
                "--cacert", InteropPki.get().caPemFile().toString()));
        String url;
        if (name == null) {
            url = "https://" + InteropPki.HOST + ':' + port + '/';
        } else {
            command.addAll(List.of("--resolve", name + ':' + port + ':' + InteropPki.HOST));
            url = "https://" + name + ':' + port + '/';
        }
        command.add(url);
        return ExternalProcess.run(command, ExternalProcess.Stdin.none(), Duration.ofSeconds(30));
    }

    private static String text(ExternalProcess.Result result) {
        return result.stdout().head();
    }

    @Test
    void curlGetsEachNamesCertificateAndTheRecordLayer() throws Exception {
        for (String name : List.of("a.test", "b.test")) {
            ExternalProcess.Result result = curl(name);
            assertEquals(0, result.exitCode(), result.describe());
            assertEquals("name=" + name + " recordLayer=true\n", text(result), result.describe());
        }
    }

    @Test
    void curlWithoutAServerNameGetsTheDefaultCertificate() throws Exception {
        ExternalProcess.Result result = curl(null); // an IP address: no SNI; the default names 127.0.0.1
        assertEquals(0, result.exitCode(), result.describe());
        assertEquals("name=null recordLayer=true\n", text(result), result.describe());
    }

    @Test
    void curlAskingForAnUnknownNameIsRefused() throws Exception {
        ExternalProcess.Result result = curl("c.test");
        assertNotEquals(0, result.exitCode(), result.describe());
        assertTrue(result.stderr().contains("unrecognized name") || result.stderr().contains("unrecognized_name")
                   || result.stderr().contains("112"), result.describe());
    }

    @Test
    void opensslClientVerifiesTheCertificateOfTheNameItSends() throws Exception {
        for (String name : List.of("a.test", "b.test")) {
            List<String> command = List.of("openssl", "s_client", "-connect", InteropPki.HOST + ':' + port,
                    "-servername", name, "-verify_hostname", name, "-verify_return_error",
                    "-CAfile", InteropPki.get().caPemFile().toString(), "-quiet", "-no_ign_eof");
            ExternalProcess.Result result = ExternalProcess.run(command, new ExternalProcess.Stdin(
                    "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0, false),
                    Duration.ofSeconds(30));
            assertTrue(result.stdout().tail().endsWith("name=" + name + " recordLayer=true\n"), result.describe());
            assertTrue(result.stderr().contains("CN = " + name) || result.stderr().contains("CN=" + name),
                       result.describe());
        }
    }
}
