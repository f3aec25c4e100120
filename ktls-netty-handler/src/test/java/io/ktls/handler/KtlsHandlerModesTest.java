package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.X509Bundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Client mode, fallbacks to SslHandler, ALPN and session details, and back-pressure from a stalled reader. */
class KtlsHandlerModesTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = TlsCipherSuite.class, names = {"TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"})
    void clientModeTalksToABoringSslServerThatSendsTickets(TlsCipherSuite suite) throws Exception {
        TestTls tls = TestTls.get();
        SslContext serverContext = tls.server(suite, "h2", "http/1.1");
        SslContext clientContext = tls.client(SslProvider.OPENSSL, suite, "http/1.1");
        byte[] request = KtlsHandlerFramingTest.random(50000);
        CompletableFuture<byte[]> echoed = new CompletableFuture<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(serverContext.newHandler(ch.alloc()),
                    new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg);
                        }
                    }));
            KtlsHandler[] client = new KtlsHandler[1];
            Channel channel = loopback.connect(ch -> ch.pipeline().addLast(
                    client[0] = new KtlsHandler(clientContext, "localhost", loopback.port(), KtlsConfig.defaults()),
                    new ChannelInboundHandlerAdapter() {
                        final ByteBuf all = Unpooled.buffer();

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            all.writeBytes((ByteBuf) msg);
                            ((ByteBuf) msg).release();
                            if (all.readableBytes() == request.length) {
                                byte[] bytes = new byte[request.length];
                                all.readBytes(bytes);
                                all.release();
                                echoed.complete(bytes);
                            }
                        }
                    }));
            assertTrue(client[0].handshakeFuture().await(10, TimeUnit.SECONDS));
            assertTrue(client[0].handshakeFuture().isSuccess(), String.valueOf(client[0].handshakeFuture().cause()));
            assertTrue(client[0].isRecordLayerActive());
            assertEquals("http/1.1", client[0].applicationProtocol());
            X509Certificate peer = (X509Certificate) client[0].session().getPeerCertificates()[0];
            assertTrue(peer.getSubjectX500Principal().getName().contains("localhost"));
            assertEquals(suite.javaName(), client[0].session().getCipherSuite());
            channel.writeAndFlush(Unpooled.wrappedBuffer(request)).sync();
            assertArrayEquals(request, echoed.get(10, TimeUnit.SECONDS));
            channel.close().sync();
        }
    }

    /**
     * TLS 1.2 abbreviated handshakes reverse who sends Finished first; on the side that finishes second the
     * handshake event fires before SslHandler flushed its Finished (the takeover flushes it), on both sides.
     */
    @ParameterizedTest(name = "KtlsHandler as client: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void tls12ResumedSessionsWorkOnEitherSide(boolean ktlsClient) throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        try (Loopback loopback = new Loopback()) {
            List<SslHandler> serverSslHandlers = new java.util.concurrent.CopyOnWriteArrayList<>();
            loopback.serve(ch -> {
                if (ktlsClient) {
                    SslHandler ssl = serverContext.newHandler(ch.alloc());
                    serverSslHandlers.add(ssl);
                    ch.pipeline().addLast(ssl, echo());
                } else {
                    ch.pipeline().addLast(new KtlsHandler(serverContext, KtlsConfig.defaults()), echo());
                }
            });
            for (int connection = 0; connection < 2; connection++) {
                byte[] request = KtlsHandlerFramingTest.random(20000 + connection);
                CompletableFuture<byte[]> echoed = new CompletableFuture<>();
                Channel channel = loopback.connect(ch -> ch.pipeline().addLast(
                        ktlsClient ? new KtlsHandler(clientContext, "localhost", loopback.port(), KtlsConfig.defaults())
                                : clientContext.newHandler(ch.alloc(), "localhost", loopback.port()),
                        collect(request.length, echoed)));
                if (ktlsClient) {
                    KtlsHandler ktls = channel.pipeline().get(KtlsHandler.class);
                    assertTrue(ktls.handshakeFuture().await(10, TimeUnit.SECONDS) && ktls.handshakeFuture().isSuccess());
                    assertTrue(ktls.isRecordLayerActive());
                } else {
                    SslHandler ssl = channel.pipeline().get(SslHandler.class);
                    ssl.handshakeFuture().sync();
                    assertEquals(connection == 1, sessionReused(ssl), "second connection resumes the session");
                }
                channel.writeAndFlush(Unpooled.wrappedBuffer(request));
                assertArrayEquals(request, echoed.get(10, TimeUnit.SECONDS), "connection " + connection);
                if (ktlsClient) {
                    SslHandler server = serverSslHandlers.get(connection);
                    boolean reused = server.engine().getSession().getCreationTime()
                            == serverSslHandlers.get(0).engine().getSession().getCreationTime()
                            && sessionReused(server);
                    assertEquals(connection == 1, reused, "second connection resumes the session");
                }
                channel.close().sync();
            }
        }
    }

    /** The tickets BoringSSL held back are flushed at the takeover: a TLS 1.3 client can resume with them. */
    @Test
    void tls13TicketsFlushedAtTheTakeoverLetClientsResume() throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, KtlsConfig.defaults()), echo()));
            for (int connection = 0; connection < 2; connection++) {
                byte[] request = KtlsHandlerFramingTest.random(1000 + connection);
                CompletableFuture<byte[]> echoed = new CompletableFuture<>();
                Channel channel = loopback.connectTls(clientContext, collect(request.length, echoed));
                assertEquals(connection == 1, sessionReused(channel.pipeline().get(SslHandler.class)),
                        "second connection resumes with a ticket from the first");
                channel.writeAndFlush(Unpooled.wrappedBuffer(request));
                assertArrayEquals(request, echoed.get(10, TimeUnit.SECONDS), "connection " + connection);
                channel.close().sync();
            }
        }
    }

    /** The peer sends close_notify and closes at once: our answer may meet a closed socket; still a clean end. */
    @ParameterizedTest(name = "offload={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void peerClosingRightAfterCloseNotifyIsACleanEnd(boolean offload) throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsOffloadGroup group = offload ? new KtlsOffloadGroup(1) : null;
        List<Throwable> serverErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Object> closeEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(
                    new KtlsHandler(serverContext, KtlsConfig.builder().offloadGroup(group).build()),
                    new ChannelInboundHandlerAdapter() {
                        @Override
                        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                            if (evt instanceof io.netty.handler.ssl.SslCloseCompletionEvent) {
                                closeEvents.add(evt);
                            }
                        }

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg);
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            serverErrors.add(cause);
                        }
                    }));
            int connections = 20;
            for (int i = 0; i < connections; i++) {
                CompletableFuture<byte[]> echoed = new CompletableFuture<>();
                Channel channel = loopback.connectTls(clientContext, collect(3, echoed));
                channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
                echoed.get(5, TimeUnit.SECONDS);
                channel.close().sync(); // SslHandler: close_notify, then the socket closes
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (closeEvents.size() < connections && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(connections, closeEvents.size());
            for (Object e : closeEvents) {
                assertTrue(((io.netty.handler.ssl.SslCloseCompletionEvent) e).isSuccess(), String.valueOf(e));
            }
            assertTrue(serverErrors.isEmpty(), "clean ends only: " + serverErrors);
        } finally {
            if (group != null) {
                group.shutdownGracefully().get(5, TimeUnit.SECONDS);
            }
        }
    }

    private static ChannelInboundHandlerAdapter echo() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush(msg);
            }
        };
    }

    @Test
    void unsupportedSuiteStaysOnSslHandlerAndStillCarriesFiles() throws Exception {
        X509Bundle rsa = TestTls.get().rsa;
        String cbc = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA";
        SslContext serverContext = SslContextBuilder.forServer(rsa.getKeyPair().getPrivate(), rsa.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.2").ciphers(List.of(cbc)).build();
        SslContext clientContext = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).protocols("TLSv1.2")
                .ciphers(List.of(cbc)).trustManager(TestTls.get().ca.getCertificate()).build();
        assertFallbackCarriesAFile(serverContext, clientContext);
    }

    @Test
    void nonBoringSslEngineStaysOnSslHandler() throws Exception {
        X509Bundle ecdsa = TestTls.get().ecdsa;
        SslContext serverContext = SslContextBuilder.forServer(ecdsa.getKeyPair().getPrivate(),
                ecdsa.getCertificatePath()).sslProvider(SslProvider.JDK).protocols("TLSv1.3").build();
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, TlsCipherSuite.TLS_AES_128_GCM_SHA256);
        assertFallbackCarriesAFile(serverContext, clientContext);
    }

    @ParameterizedTest
    @EnumSource(value = TlsCipherSuite.class,
            names = {"TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"})
    void suiteLeftOutOfTakeoverSuitesStaysOnSslHandler(TlsCipherSuite suite) throws Exception {
        TestTls tls = TestTls.get();
        KtlsConfig config = KtlsConfig.builder()
                .takeoverSuites(EnumSet.complementOf(EnumSet.of(suite)))
                .build();
        // The JDK client, because a BoringSSL client offers every TLS 1.3 suite whatever it is told.
        KtlsHandler server = assertFallbackCarriesAFile(tls.server(suite), tls.client(SslProvider.JDK, suite), config);
        assertEquals(suite.javaName(), server.session().getCipherSuite());
    }

    @Test
    void takeoverSuitesAreCopiedAndRejectNull() {
        EnumSet<TlsCipherSuite> suites = EnumSet.of(TlsCipherSuite.TLS_AES_128_GCM_SHA256);
        KtlsConfig config = KtlsConfig.builder().takeoverSuites(suites).build();
        suites.add(TlsCipherSuite.TLS_AES_256_GCM_SHA384);
        assertEquals(EnumSet.of(TlsCipherSuite.TLS_AES_128_GCM_SHA256), config.takeoverSuites());
        assertEquals(EnumSet.allOf(TlsCipherSuite.class), KtlsConfig.defaults().takeoverSuites());
        assertThrows(NullPointerException.class,
                () -> KtlsConfig.builder().takeoverSuites(Arrays.asList(TlsCipherSuite.TLS_AES_128_GCM_SHA256, null)));
    }

    private void assertFallbackCarriesAFile(SslContext serverContext, SslContext clientContext) throws Exception {
        assertFallbackCarriesAFile(serverContext, clientContext, KtlsConfig.defaults());
    }

    /** A file down and a message up through a connection that stays on SslHandler; returns the server's handler. */
    private KtlsHandler assertFallbackCarriesAFile(SslContext serverContext, SslContext clientContext,
                                                   KtlsConfig config) throws Exception {
        byte[] content = KtlsHandlerFramingTest.random(100_000);
        byte[] message = KtlsHandlerFramingTest.random(40_000);
        CompletableFuture<byte[]> uploaded = new CompletableFuture<>();
        Path file = dir.resolve("fallback.bin");
        Files.write(file, content);
        long fallbacksBefore = KtlsStats.GLOBAL.fallbacks();
        CompletableFuture<KtlsHandler> server = new CompletableFuture<>();
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                KtlsHandler ktls = new KtlsHandler(serverContext, config);
                ch.pipeline().addLast(ktls, new OnHandshakeSuccess(ctx -> {
                    server.complete(ktls);
                    ctx.writeAndFlush(new DefaultFileRegion(file.toFile(), 0, content.length));
                }), collect(message.length, uploaded));
            });
            Channel client = loopback.connectTls(clientContext, collect(content.length, received));
            assertArrayEquals(content, received.get(10, TimeUnit.SECONDS));
            KtlsHandler ktls = server.get(5, TimeUnit.SECONDS);
            assertFalse(ktls.isRecordLayerActive(), "stayed on SslHandler");
            assertTrue(ktls.handshakeFuture().isSuccess());
            assertTrue(KtlsStats.GLOBAL.fallbacks() > fallbacksBefore, "fallback counted");
            client.writeAndFlush(Unpooled.wrappedBuffer(message));
            assertArrayEquals(message, uploaded.get(10, TimeUnit.SECONDS));
            client.close().sync();
            return ktls;
        }
    }

    @ParameterizedTest(name = "offload={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void stalledReaderMakesTheServerUnwritableWithBoundedRecordsInFlight(boolean offload) throws Exception {
        KtlsOffloadGroup group = offload ? new KtlsOffloadGroup(1) : null;
        try {
            stalledReader(group);
        } finally {
            if (group != null) {
                group.shutdownGracefully().get(5, TimeUnit.SECONDS);
            }
        }
    }

    private void stalledReader(KtlsOffloadGroup group) throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        int fileBytes = 16 * 1024 * 1024;
        byte[] content = new byte[fileBytes];
        new Random(3).nextBytes(content);
        Path file = dir.resolve("big.bin");
        Files.write(file, content);
        int cap = 4;
        CompletableFuture<Channel> serverChannel = new CompletableFuture<>();
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        AtomicInteger writabilityChanges = new AtomicInteger();
        KtlsHandler[] server = new KtlsHandler[1];
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                server[0] = new KtlsHandler(serverContext, KtlsConfig.builder().maxRecordsInFlight(cap)
                        .offloadGroup(group).build());
                ch.pipeline().addLast(server[0], new OnHandshakeSuccess(ctx -> {
                    serverChannel.complete(ctx.channel());
                    ctx.writeAndFlush(new DefaultFileRegion(file.toFile(), 0, fileBytes));
                }) {
                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                        writabilityChanges.incrementAndGet();
                        ctx.fireChannelWritabilityChanged();
                    }
                });
            });
            Channel client = loopback.connect(ch -> {
                ch.config().setOption(ChannelOption.SO_RCVBUF, 64 * 1024);
                ch.pipeline().addLast(clientContext.newHandler(ch.alloc(), "localhost", loopback.port()),
                        collect(fileBytes, received));
            });
            client.pipeline().get(SslHandler.class).handshakeFuture().sync();
            client.config().setAutoRead(false);
            Channel channel = serverChannel.get(5, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (channel.isWritable() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertFalse(channel.isWritable(), "a stalled reader turns the server unwritable");
            for (int i = 0; i < 20; i++) {
                int inFlight = channel.eventLoop().submit(server[0]::unacknowledgedRecords).get();
                assertTrue(inFlight <= cap, "records in flight bounded by the cap: " + inFlight);
                Thread.sleep(10);
            }
            client.config().setAutoRead(true);
            client.read();
            assertArrayEquals(content, received.get(30, TimeUnit.SECONDS));
            assertTrue(writabilityChanges.get() >= 2, "unwritable then writable again");
            assertTrue(channel.eventLoop().submit(channel::isWritable).get());
            client.close().sync();
        }
    }

    private static ChannelInboundHandlerAdapter collect(int expected, CompletableFuture<byte[]> result) {
        return new ChannelInboundHandlerAdapter() {
            final ByteBuf all = Unpooled.buffer(expected);

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                all.writeBytes((ByteBuf) msg);
                ((ByteBuf) msg).release();
                if (all.readableBytes() == expected) {
                    byte[] bytes = new byte[expected];
                    all.readBytes(bytes);
                    all.release();
                    result.complete(bytes);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (all.refCnt() > 0) {
                    all.release();
                }
                result.completeExceptionally(new IllegalStateException("closed before all bytes arrived"));
            }
        };
    }

    /** Whether BoringSSL resumed a session on this OpenSSL-provider handler's connection. */
    private static boolean sessionReused(SslHandler ssl) {
        return io.netty.internal.tcnative.SSL.isSessionReused(
                ((io.netty.handler.ssl.ReferenceCountedOpenSslEngine) ssl.engine()).sslPointer());
    }
}
