package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.net.ssl.SSLException;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handshake and close_notify timeouts of {@link KtlsConfig}, and {@link KtlsHandler#sslCloseFuture()}. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KtlsHandlerTimeoutsTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;

    @Test
    void aPeerThatNeverHandshakesIsClosedAfterTheHandshakeTimeout() throws Exception {
        KtlsConfig config = KtlsConfig.builder().handshakeTimeoutMillis(200).build();
        SslContext serverContext = TestTls.get().server(SUITE);
        try (Loopback loopback = new Loopback()) {
            CompletableFuture<KtlsHandler> server = serveKtls(loopback, serverContext, config);
            Channel silent = loopback.connect(ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ReferenceCountUtil.release(msg);
                }
            }));
            KtlsHandler ktls = server.get(5, TimeUnit.SECONDS);
            // Half of SslHandler's default (10 s): the configured 200 ms must be what applies.
            assertTrue(ktls.handshakeFuture().await(5, TimeUnit.SECONDS), "the handshake never timed out");
            assertInstanceOf(SslHandshakeTimeoutException.class, ktls.handshakeFuture().cause());
            assertTrue(silent.closeFuture().await(10, TimeUnit.SECONDS), "the silent peer was never closed");
            assertTrue(ktls.sslCloseFuture().await(5, TimeUnit.SECONDS));
            assertFalse(ktls.sslCloseFuture().isSuccess());
        }
    }

    @Test
    void sslCloseFutureSucceedsOnThePeersCloseNotify() throws Exception {
        Future<Channel> closed = closeFutureAfterPeerCloses(KtlsConfig.defaults(), true);
        assertTrue(closed.isSuccess(), "closed with: " + closed.cause());
    }

    @Test
    void sslCloseFutureFailsWhenThePeerVanishesWithoutCloseNotify() throws Exception {
        Future<Channel> closed = closeFutureAfterPeerCloses(KtlsConfig.defaults(), false);
        assertFalse(closed.isSuccess());
        assertInstanceOf(SSLException.class, closed.cause());
    }

    @Test
    void sslCloseFutureFollowsSslHandlerWhenTheConnectionStaysOnIt() throws Exception {
        KtlsConfig config = KtlsConfig.builder().takeoverSuites(EnumSet.noneOf(TlsCipherSuite.class)).build();
        Future<Channel> closed = closeFutureAfterPeerCloses(config, true);
        assertTrue(closed.isSuccess(), "closed with: " + closed.cause());
    }

    /** Serves a bare {@link KtlsHandler}; the future completes with the first accepted connection's. */
    private static CompletableFuture<KtlsHandler> serveKtls(Loopback loopback, SslContext serverContext,
                                                            KtlsConfig config) throws InterruptedException {
        CompletableFuture<KtlsHandler> server = new CompletableFuture<>();
        loopback.serve(ch -> {
            KtlsHandler ktls = new KtlsHandler(serverContext, config);
            ch.pipeline().addLast(ktls);
            server.complete(ktls);
        });
        return server;
    }

    /** A handshake, then the client leaves with or without close_notify; returns the server's sslCloseFuture. */
    private static Future<Channel> closeFutureAfterPeerCloses(KtlsConfig config, boolean closeNotify)
            throws Exception {
        SslContext serverContext = TestTls.get().server(SUITE);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, SUITE);
        try (Loopback loopback = new Loopback()) {
            CompletableFuture<KtlsHandler> server = serveKtls(loopback, serverContext, config);
            Channel client = loopback.connect(ch -> ch.pipeline().addLast(
                    clientContext.newHandler(ch.alloc(), "localhost", loopback.port()),
                    new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                        }
                    }));
            SslHandler clientSsl = client.pipeline().get(SslHandler.class);
            clientSsl.handshakeFuture().sync();
            KtlsHandler ktls = server.get(5, TimeUnit.SECONDS);
            assertTrue(ktls.handshakeFuture().await(5, TimeUnit.SECONDS));
            assertEquals(config.takeoverSuites().contains(SUITE), ktls.isRecordLayerActive());
            assertFalse(ktls.sslCloseFuture().isDone(), "closed before the peer left");
            if (closeNotify) {
                client.close().sync();
            } else {
                // Out of the pipeline first, so that closing the socket sends no close_notify.
                client.pipeline().remove(clientSsl);
                client.close().sync();
            }
            assertTrue(ktls.sslCloseFuture().await(10, TimeUnit.SECONDS), "sslCloseFuture never completed");
            return ktls.sslCloseFuture();
        }
    }

    @Test
    void closeGivesUpOnAPeerThatStopsReadingAfterTheCloseNotifyFlushTimeout() throws Exception {
        KtlsConfig config = KtlsConfig.builder().closeNotifyFlushTimeoutMillis(200).build();
        try (Loopback loopback = new Loopback()) {
            Channel stalled = closeWhileThePeerDoesNotRead(loopback, config);
            // Less than the default (3 s): the configured 200 ms must be what applies.
            assertTrue(stalled.closeFuture().await(2, TimeUnit.SECONDS),
                    "the channel stayed open after the close_notify flush timeout");
        }
    }

    /**
     * The event loops stop while a close waits for a peer that does not read: the loops close the channel, and
     * every record it held comes back (the leak detector would report any run left behind). Netty closes the
     * channels of a stopping loop only if the loop turns at least once after the shutdown began, which a quiet
     * period of 0 does not guarantee in 4.2.18; {@link Loopback} shuts down with a quiet period for that reason.
     */
    @Test
    void eventLoopsStoppingDuringAPendingCloseReleaseEverything() throws Exception {
        KtlsConfig config = KtlsConfig.builder().closeNotifyFlushTimeoutMillis(60_000).build();
        Channel stalled;
        try (Loopback loopback = new Loopback()) {
            stalled = closeWhileThePeerDoesNotRead(loopback, config);
            assertFalse(stalled.closeFuture().await(500, TimeUnit.MILLISECONDS), "closed before the loops stopped");
        }
        assertTrue(stalled.closeFuture().isDone(), "the stopped event loop left its channel open");
    }

    @Test
    void aZeroCloseNotifyFlushTimeoutWaitsForThePeer() throws Exception {
        KtlsConfig config = KtlsConfig.builder().closeNotifyFlushTimeoutMillis(0).build();
        try (Loopback loopback = new Loopback()) {
            Channel stalled = closeWhileThePeerDoesNotRead(loopback, config);
            // Longer than the default timeout (3 s): with no limit the close still waits for the peer to read.
            assertFalse(stalled.closeFuture().await(3500, TimeUnit.MILLISECONDS), "closed without waiting");
            stalled.close().sync();
        }
    }

    /**
     * The server writes 8 MiB to a client that stops reading after the handshake, then closes; returns the
     * server's channel (which the client is still connected to).
     */
    private static Channel closeWhileThePeerDoesNotRead(Loopback loopback, KtlsConfig config) throws Exception {
        SslContext serverContext = TestTls.get().server(SUITE);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, SUITE);
        CompletableFuture<Channel> serverChannel = new CompletableFuture<>();
        CompletableFuture<ChannelFuture> bigWrite = new CompletableFuture<>();
        loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, config),
                new OnHandshakeSuccess(ctx -> {
                    bigWrite.complete(ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[8 << 20])));
                    ctx.close();
                    serverChannel.complete(ctx.channel());
                })));
        loopback.connect(ch -> ch.pipeline().addLast(
                clientContext.newHandler(ch.alloc(), "localhost", loopback.port()),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg);
                        ctx.channel().config().setAutoRead(false); // the first bytes, then nothing
                    }
                }));
        Channel channel = serverChannel.get(10, TimeUnit.SECONDS);
        ChannelFuture write = bigWrite.get(10, TimeUnit.SECONDS);
        assertFalse(write.isDone(), "8 MiB went out to a peer that stopped reading");
        return channel;
    }

    @Test
    void negativeTimeoutsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> KtlsConfig.builder().handshakeTimeoutMillis(-1));
        assertThrows(IllegalArgumentException.class, () -> KtlsConfig.builder().closeNotifyFlushTimeoutMillis(-1));
        assertEquals(10_000, KtlsConfig.defaults().handshakeTimeoutMillis());
        assertEquals(3_000, KtlsConfig.defaults().closeNotifyFlushTimeoutMillis());
    }
}
