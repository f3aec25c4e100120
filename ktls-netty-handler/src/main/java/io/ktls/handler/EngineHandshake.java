package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import java.util.Set;

/**
 * The handshake stack in front of {@link KtlsHandler}: Netty's {@link SslHandler} running BoringSSL's handshake,
 * the {@link TlsRecordSplitter} that holds back the records after the handshake's last one, and the collector of
 * the TLS 1.3 secrets BoringSSL logs meanwhile. It lives from the handler's addition to the takeover, or for the
 * whole connection when the connection stays on {@code SslHandler} (then with a {@link ChunkedWriteHandler} in
 * front, which turns files and chunked inputs into the buffers {@code SslHandler} takes).
 *
 * <pre>
 *   while handshaking:  [TlsRecordSplitter] → [SslHandler] → [KtlsHandler]
 *   staying on it:      [SslHandler] → [ChunkedWriteHandler] → [KtlsHandler]
 * </pre>
 *
 * <p>Event loop only.
 */
final class EngineHandshake {

    private final ChannelHandlerContext ctx;
    final SslHandler sslHandler;
    /** Null when the record layer cannot take over, and once removed. */
    private TlsRecordSplitter splitter;
    /** Null when the context cannot log keys (then the record layer cannot take over), and once stopped. */
    private Tls13SecretCollector secrets;

    private EngineHandshake(ChannelHandlerContext ctx, SslHandler sslHandler, Tls13SecretCollector secrets) {
        this.ctx = ctx;
        this.sslHandler = sslHandler;
        this.secrets = secrets;
    }

    /**
     * Puts the handshake stack in front of {@code ctx}: with the splitter when the record layer can take over
     * (BoringSSL's engine, its keys logged to us), else ready to stay on {@code SslHandler}.
     */
    static EngineHandshake install(ChannelHandlerContext ctx, SslContext sslContext, String peerHost, int peerPort,
                                   KtlsConfig config) {
        // SslContext.newHandler, not newEngine: the handler gets everything the context configures for it
        // (start-TLS mode, session resumption checks), exactly as without us.
        SslHandler sslHandler = peerHost == null ? sslContext.newHandler(ctx.alloc())
                : sslContext.newHandler(ctx.alloc(), peerHost, peerPort);
        sslHandler.setHandshakeTimeoutMillis(config.handshakeTimeoutMillis());
        sslHandler.setCloseNotifyFlushTimeoutMillis(config.closeNotifyFlushTimeoutMillis());
        SSLEngine engine = sslHandler.engine();
        Tls13SecretCollector secrets = engine instanceof ReferenceCountedOpenSslEngine
                ? Tls13SecretCollector.register(sslContext, (ReferenceCountedOpenSslEngine) engine,
                        config.keyLogFile())
                : null;
        EngineHandshake handshake = new EngineHandshake(ctx, sslHandler, secrets);
        ChannelPipeline pipeline = ctx.pipeline();
        pipeline.addBefore(ctx.name(), null, sslHandler);
        if (secrets == null) {
            // SslHandler rejects anything but ByteBuf: turn files and chunked inputs into buffers before it.
            pipeline.addBefore(ctx.name(), null, new ChunkedWriteHandler());
        } else {
            handshake.splitter = new TlsRecordSplitter();
            pipeline.addBefore(pipeline.context(sslHandler).name(), null, handshake.splitter);
        }
        return handshake;
    }

    /** The record layer may take over once the handshake is done. */
    boolean canTakeOver() {
        return secrets != null;
    }

    /**
     * Everything the record layer needs from the finished engine; {@code null} to stay on SslHandler: a suite we
     * do not implement or are configured to leave there, or keys the engine cannot give. Stops collecting
     * secrets, whatever the outcome.
     */
    EngineHandoff readHandoff(Set<TlsCipherSuite> takeoverSuites) throws SSLException {
        try {
            ReferenceCountedOpenSslEngine engine = (ReferenceCountedOpenSslEngine) sslHandler.engine();
            TlsCipherSuite negotiated = EngineHandoff.supportedSuite(engine);
            if (negotiated == null || !takeoverSuites.contains(negotiated)) {
                return null;
            }
            return EngineHandoff.read(engine, negotiated, secrets, ctx.alloc());
        } finally {
            stopCollecting();
        }
    }

    /** BoringSSL's key-log lines stop coming here; what was collected is zeroed. Idempotent. */
    void stopCollecting() {
        if (secrets != null) {
            secrets.unregister();
            secrets = null;
        }
    }

    /** TLS 1.3 server: the NewSessionTickets go first, past SslHandler, at the sequence numbers they took. */
    void sendTickets(ByteBuf tickets) {
        if (tickets == null) {
            return;
        }
        if (tickets.isReadable()) {
            ctx.pipeline().context(sslHandler).write(tickets);
        } else {
            tickets.release();
        }
    }

    /** The record layer has taken over: SslHandler leaves (and frees its engine). */
    void removeSslHandler() {
        ctx.pipeline().remove(sslHandler);
    }

    /** The records the splitter held back arrive raw from now on. */
    void removeSplitter() {
        removeIfPresent(splitter);
        splitter = null;
    }

    /** The connection stays on SslHandler after all: files and chunked inputs become buffers before it. */
    void stayOnSslHandler() {
        ctx.pipeline().addBefore(ctx.name(), null, new ChunkedWriteHandler());
        removeSplitter();
    }

    /** Removed mid-handshake from an open channel: the half-built stack would pass raw TLS on, so it goes too. */
    void removeAll() {
        removeIfPresent(splitter);
        removeIfPresent(sslHandler);
    }

    private void removeIfPresent(ChannelHandler handler) {
        if (handler != null && ctx.pipeline().context(handler) != null) {
            ctx.pipeline().remove(handler);
        }
    }
}
