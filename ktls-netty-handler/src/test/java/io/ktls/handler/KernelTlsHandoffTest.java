package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.net.ssl.SSLException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The hand-off of the write keys to Linux kernel TLS, as seen from a machine whatever its kernel: a connection
 * that asks for it either runs in the kernel or stays on the user-space record layer with the cause counted,
 * and serves the same bytes either way. Where the kernel has no {@code tls} module (this project's build machines)
 * every epoll connection falls back with {@link KernelTlsRefusal#NO_TLS_MODULE}; the kernel path itself is proven
 * in a guest kernel that has it (examples, {@code KernelTlsGuestIT}).
 */
class KernelTlsHandoffTest {

    private static final int FILE_BYTES = 100_000 + 7;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = TlsCipherSuite.class, names = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"})
    void autoServesTheSameBytesInTheKernelOrInUserSpace(TlsCipherSuite suite) throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll: " + Epoll.unavailabilityCause());
        KtlsStats stats = new KtlsStats();
        Served served = serve(true, suite, KernelTls.AUTO, stats);
        assertArrayEquals(served.expected, served.received.get(20, TimeUnit.SECONDS));
        if (stats.kernelSessionsTotal() == 1) {
            assertTrue(stats.kernelBytesWritten() >= FILE_BYTES, String.valueOf(stats.kernelBytesWritten()));
            assertEquals(0, stats.recordsSealed());
        } else {
            // No tls module here: the kernel says ENOENT to TCP_ULP, and the record layer seals in user space.
            assertFalse(Files.exists(Path.of("/proc/net/tls_stat")), "the kernel has TLS but refused");
            assertEquals(1, stats.kernelRefusals(KernelTlsRefusal.NO_TLS_MODULE), stats.toMap().toString());
            assertEquals(1, stats.sessionsTotal());
            assertTrue(stats.recordsSealed() > 0);
        }
        assertEquals(0, stats.activeSessions());
    }

    @Test
    void autoOnNioStaysInUserSpaceCountedAsTransport() throws Exception {
        KtlsStats stats = new KtlsStats();
        Served served = serve(false, TlsCipherSuite.TLS_AES_128_GCM_SHA256, KernelTls.AUTO, stats);
        assertArrayEquals(served.expected, served.received.get(20, TimeUnit.SECONDS));
        assertEquals(1, stats.kernelRefusals(KernelTlsRefusal.TRANSPORT));
        assertEquals(0, stats.kernelSessionsTotal());
        assertEquals(1, stats.sessionsTotal());
    }

    @Test
    void offAsksNothingOfTheKernel() throws Exception {
        KtlsStats stats = new KtlsStats();
        Served served = serve(Epoll.isAvailable(), TlsCipherSuite.TLS_AES_128_GCM_SHA256, KernelTls.OFF, stats);
        assertArrayEquals(served.expected, served.received.get(20, TimeUnit.SECONDS));
        for (KernelTlsRefusal cause : KernelTlsRefusal.values()) {
            assertEquals(0, stats.kernelRefusals(cause), cause.name());
        }
        assertEquals(0, stats.kernelSessionsTotal());
    }

    @Test
    void requiredFailsTheHandshakeWhenTheKernelRefuses() throws Exception {
        KtlsStats stats = new KtlsStats();
        Served served = serve(false, TlsCipherSuite.TLS_AES_128_GCM_SHA256, KernelTls.REQUIRED, stats);
        Throwable failure = served.serverHandshake.handle((c, e) -> e).get(20, TimeUnit.SECONDS);
        assertInstanceOf(SSLException.class, failure);
        assertTrue(failure.getMessage().contains("TRANSPORT"), failure.getMessage());
        // The client saw the handshake end and then the connection close, with none of the body.
        assertEquals(0, served.received.get(20, TimeUnit.SECONDS).length);
        assertEquals(1, stats.kernelRefusals(KernelTlsRefusal.TRANSPORT));
        assertEquals(0, stats.sessionsTotal());
        assertEquals(0, stats.activeSessions());
    }

    @ParameterizedTest
    @EnumSource(value = KernelTls.class, names = {"OFF", "AUTO"})
    void theTakeoverReportsNoCloseOfItsOwn(KernelTls kernelTls) throws Exception {
        Served served = serve(Epoll.isAvailable(), TlsCipherSuite.TLS_AES_128_GCM_SHA256, kernelTls,
                new KtlsStats());
        served.received.get(20, TimeUnit.SECONDS);
        // SslHandler reports "removed before SSLEngine was closed" when it leaves: that is not the peer's close.
        assertEquals("open", served.closeAtHandshake.get(20, TimeUnit.SECONDS));
    }

    /** What one connection was sent and what its client read until the server closed. */
    private static final class Served {
        /** The server's sslCloseFuture as the handshake completes: "open", or how it ended. */
        final CompletableFuture<String> closeAtHandshake = new CompletableFuture<>();
        byte[] expected;
        final CompletableFuture<byte[]> received = new CompletableFuture<>();
        final CompletableFuture<Void> serverHandshake = new CompletableFuture<>();
    }

    /**
     * One connection: the server writes a header, a file region and a trailer after its handshake, then closes; a
     * Netty {@code SslHandler} client (BoringSSL) reads until the close.
     */
    private Served serve(boolean epoll, TlsCipherSuite suite, KernelTls kernelTls, KtlsStats stats) throws Exception {
        byte[] file = new byte[FILE_BYTES];
        new Random(suite.ordinal()).nextBytes(file);
        Path path = Files.write(dir.resolve("body-" + suite), file);
        byte[] header = "header\r\n".getBytes();
        byte[] trailer = "\r\ntrailer".getBytes();
        Served served = new Served();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.write(header);
        expected.write(file);
        expected.write(trailer);
        served.expected = expected.toByteArray();

        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().kernelTls(kernelTls).stats(stats).build();
        try (Loopback loopback = epoll ? new Loopback(EpollIoHandler.newFactory(), EpollServerSocketChannel.class)
                                       : new Loopback()) {
            loopback.serve(ch -> {
                KtlsHandler tls = new KtlsHandler(serverContext, config);
                tls.handshakeFuture().addListener(f -> {
                    if (f.isSuccess()) {
                        served.serverHandshake.complete(null);
                    } else {
                        served.serverHandshake.completeExceptionally(f.cause());
                    }
                });
                ch.pipeline().addLast(tls, new ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof SslHandshakeCompletionEvent
                                && ((SslHandshakeCompletionEvent) evt).isSuccess()) {
                            served.closeAtHandshake.complete(!tls.sslCloseFuture().isDone() ? "open"
                                    : String.valueOf(tls.sslCloseFuture().cause()));
                            File source = path.toFile();
                            ctx.write(Unpooled.wrappedBuffer(header));
                            ctx.write(new DefaultFileRegion(source, 0, source.length()));
                            ctx.writeAndFlush(Unpooled.wrappedBuffer(trailer)).addListener(w -> ctx.close());
                        }
                        ctx.fireUserEventTriggered(evt);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close();
                    }
                });
            });
            loopback.connect(ch -> ch.pipeline().addLast(clientContext.newHandler(ch.alloc(), "localhost",
                    loopback.port()), new ChannelInboundHandlerAdapter() {
                        final ByteArrayOutputStream all = new ByteArrayOutputStream();

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf buf = (ByteBuf) msg;
                            byte[] bytes = new byte[buf.readableBytes()];
                            buf.readBytes(bytes);
                            buf.release();
                            all.write(bytes, 0, bytes.length);
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            served.received.complete(all.toByteArray());
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            ctx.close();
                        }
                    }));
            served.received.get(20, TimeUnit.SECONDS);
        }
        return served;
    }
}
