package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import java.nio.channels.ClosedChannelException;

/**
 * TLS for a channel, in place of {@code sslContext.newHandler(alloc)}: the handshake runs in BoringSSL through
 * Netty's {@link SslHandler}, then this handler takes over the record layer, seals records on the event loop or
 * on the workers of a {@link KtlsOffloadGroup}, and accepts {@link ByteBuf}, {@link FileRegion} (any) and
 * {@link ChunkedInput} writes. To the handlers after it, it behaves like {@code SslHandler}:
 * {@link #handshakeFuture()}, {@link #sslCloseFuture()}, {@link #session()}, {@link #applicationProtocol()},
 * {@link SslHandshakeCompletionEvent} and {@link SslCloseCompletionEvent}, close_notify on close, and the
 * handshake and close_notify timeouts of {@link KtlsConfig}.
 *
 * <pre>{@code
 * KtlsOffloadGroup group = new KtlsOffloadGroup();                  // once per server, like an EventLoopGroup
 * KtlsConfig config = KtlsConfig.builder().offloadGroup(group).build();
 * ...
 * protected void initChannel(SocketChannel ch) {
 *     ch.pipeline().addLast(new KtlsHandler(sslContext, config),   // sslContext: SslProvider.OPENSSL
 *                           new HttpServerCodec(), new MyHandler());
 * }
 * ...
 * ctx.writeAndFlush(new DefaultFileRegion(file, 0, file.length())); // read and sealed off the event loop
 * }</pre>
 *
 * <pre>
 *   pipeline while handshaking:  [TlsRecordSplitter] → [SslHandler] → [KtlsHandler] → user handlers
 *   after the takeover:                                                [KtlsHandler] → user handlers
 * </pre>
 *
 * <h2>Takeover (event loop, inside SslHandler's handshake-complete event)</h2>
 * A suite outside {@link TlsCipherSuite} (or outside {@link KtlsConfig#takeoverSuites()}), an engine that is not
 * BoringSSL's, or keys that cannot be read: the connection stays on {@code SslHandler}
 * ({@link #isRecordLayerActive()} is false, counted as a fallback). Otherwise the record layer starts with the
 * engine's exact keys and sequence numbers, {@code SslHandler} leaves, the writes queued during the handshake
 * go out, and then {@link #handshakeFuture()} completes and the success event fires.
 *
 * <h2>Kernel TLS</h2>
 * With {@link KtlsConfig#kernelTls()} on, the takeover hands the write keys and next sequence number to Linux
 * kernel TLS when the channel is an epoll socket and the kernel takes them ({@link KernelOutbound}); the kernel
 * then seals every byte written and a {@code DefaultFileRegion} goes out with {@code sendfile(2)}. Reading stays
 * here. A refusal leaves the connection on this record layer, counted by {@link KernelTlsRefusal}
 * (docs/kernel-tls.md).
 *
 * <h2>Writing</h2>
 * Writes are framed on flush into records of at most {@link KtlsConfig#maxRecordPayloadBytes()} (small writes
 * coalesce); a write's promise completes, and its message is released, when the record holding its last byte
 * is written. {@link KtlsConfig#maxRecordsInFlight()} records in flight make the channel unwritable. A
 * {@code ChunkedInput} written here is read chunk by chunk as records are framed; if it has nothing to give
 * ({@code readChunk} returns {@code null}) it is asked again at the next flush or record completion, so an
 * input that becomes ready later belongs behind a {@code ChunkedWriteHandler} (which has
 * {@code resumeTransfer()}). Chunks are sent as the bytes they hold ({@code ByteBuf}, or a
 * {@code ByteBufHolder}'s content): an input whose chunks still need encoding, such as {@code HttpChunkedInput},
 * goes through {@code ChunkedWriteHandler} and the codec first, as it does without this handler.
 *
 * <h2>Errors</h2>
 * Bad input gets the TLS alert it calls for (sealed with our write key, after the records already framed),
 * an {@link SSLException} to {@code exceptionCaught}, and a closed channel; every buffer is released. The channel
 * closes once the alert is written, whether records are sealed inline or on a worker; a {@code close()} asked for
 * meanwhile (from {@code exceptionCaught}, say) waits for it too, bounded by the close_notify flush timeout. A
 * stream that ends without close_notify is reported as an {@code SSLException} too.
 *
 * <p>Threads: everything runs on the channel's event loop, except sealing with an offload group (see
 * {@link OffloadRecordSealer}); the accessors ({@link #handshakeFuture()}, {@link #sslCloseFuture()},
 * {@link #session()}, {@link #applicationProtocol()}, {@link #isRecordLayerActive()}) and {@link #closeOutbound()}
 * may be called from any thread. Key material is zeroed when the connection ends and never logged.
 */
public final class KtlsHandler extends ChannelDuplexHandler {

    private enum State { NEW, HANDSHAKING, ACTIVE, FALLBACK, CLOSED }

    /** RFC 8446 section 6: internal_error(80), the alert for a failure of ours while reading. */
    private static final byte INTERNAL_ERROR = 80;

    private final SslContext sslContext;
    private final String peerHost;
    private final int peerPort;
    private final KtlsConfig config;
    private final Promise<Channel> handshakePromise = ImmediateEventExecutor.INSTANCE.newPromise();
    private final Promise<Channel> sslClosePromise = ImmediateEventExecutor.INSTANCE.newPromise();

    private ChannelHandlerContext ctx;
    /** Written on the event loop; volatile for the accessors that any thread may call. */
    private volatile State state = State.NEW;
    /** SslHandler and what stands in front with it; from handlerAdded (the takeover ends its part). */
    private EngineHandshake handshake;
    private final HandshakeWrites handshakeWrites = new HandshakeWrites();

    private TlsCipherSuite suite;
    /** Both directions' keys from the takeover until released; closed in {@link #releaseAll}. */
    private ConnectionKeys keys;
    private volatile SSLSession session;
    private volatile String applicationProtocol;
    private boolean offloaded;
    /** The kernel seals our records ({@link KernelTls}); decided at the takeover. */
    private boolean kernel;
    /** The sequence number of our first record after the handshake, from the handoff. */
    private long firstWriteSequence;
    private OutboundPath outbound;
    private InboundRecordLayer inbound;
    private boolean takingOver;
    private boolean processingInbound;
    private boolean closeNotifyReceived;
    private boolean closeEventFired;
    private boolean failed;
    /** The close behind our final record (close_notify or a fatal alert); made when the handler is added. */
    private ClosingSequence closing;
    /** The session is counted in the active gauges (from the takeover until released). */
    private boolean sessionCounted;
    /** Application data fired since the last channelReadComplete (else, without auto-read, ask for more). */
    private boolean firedReadSinceComplete;

    /** A server-side (or client-side, by {@code sslContext.isClient()}) handler without SNI. */
    public KtlsHandler(SslContext sslContext, KtlsConfig config) {
        this(sslContext, null, -1, config);
    }

    /** A client handler that sends {@code peerHost} as SNI (and uses it to verify the host name if configured). */
    public KtlsHandler(SslContext sslContext, String peerHost, int peerPort, KtlsConfig config) {
        if (sslContext == null) {
            throw new NullPointerException("sslContext");
        }
        if (config == null) {
            throw new NullPointerException("config");
        }
        this.sslContext = sslContext;
        this.peerHost = peerHost;
        this.peerPort = peerPort;
        this.config = config;
    }

    /** Completes when the handshake is done and the record layer has taken over (or fallen back). */
    public Future<Channel> handshakeFuture() {
        return handshakePromise;
    }

    /**
     * Completes when the inbound side is closed, as {@code SslHandler.sslCloseFuture()}: successfully when the
     * peer's close_notify arrives, with the cause when the connection ends any other way (a fatal alert, bad
     * input, a stream cut without close_notify, or a channel closed before any of these).
     */
    public Future<Channel> sslCloseFuture() {
        return sslClosePromise;
    }

    /** The negotiated session, a snapshot taken at the handshake; {@code null} before it. */
    public SSLSession session() {
        if (state == State.FALLBACK && handshake != null) {
            return handshake.sslHandler.engine().getSession();
        }
        return session;
    }

    /** The protocol ALPN selected, or {@code null}. */
    public String applicationProtocol() {
        if (state == State.FALLBACK && handshake != null) {
            return handshake.sslHandler.applicationProtocol();
        }
        return applicationProtocol;
    }

    /** True once this handler runs the record layer; false while handshaking and for a fallback connection. */
    public boolean isRecordLayerActive() {
        return state == State.ACTIVE;
    }

    /** The metrics of all connections of this JVM. */
    public static KtlsMetric metric() {
        return KtlsMetric.global();
    }

    /** Sends close_notify after the data written so far, without closing the channel. */
    public ChannelFuture closeOutbound() {
        ChannelHandlerContext context = ctx;
        if (context == null) {
            throw new IllegalStateException("closeOutbound: handler not added to a pipeline");
        }
        ChannelPromise promise = context.newPromise();
        if (context.executor().inEventLoop()) {
            closeOutbound(promise);
        } else {
            context.executor().execute(() -> closeOutbound(promise));
        }
        return promise;
    }

    private void closeOutbound(ChannelPromise promise) {
        switch (state) {
            case ACTIVE:
                outbound.flush();
                outbound.closeOutbound(promise);
                break;
            case FALLBACK:
            case HANDSHAKING:
                handshake.sslHandler.closeOutbound(promise);
                break;
            default:
                promise.trySuccess();
        }
    }

    /** For tests: the next write sequence number of the record layer, or -1 before the takeover. */
    long writeSequence() {
        return outbound == null ? -1 : outbound.nextSequence();
    }

    /** For tests: bytes of the peer's records buffered and not processed yet. */
    int bufferedInboundBytes() {
        return inbound == null ? 0 : inbound.bufferedBytes();
    }

    /** For tests: records framed and not yet written to the socket. */
    int unacknowledgedRecords() {
        return outbound == null ? 0 : outbound.unacknowledgedRecords();
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        closing = new ClosingSequence(ctx, config.closeNotifyFlushTimeoutMillis());
        handshake = EngineHandshake.install(ctx, sslContext, peerHost, peerPort, config);
        if (handshake.canTakeOver()) {
            state = State.HANDSHAKING;
        } else {
            state = State.FALLBACK;
            config.stats().fallback();
            RecordLayerEvents.fallback(ctx.channel(), "the SslContext cannot hand its keys over (not BoringSSL)");
            handshake.sslHandler.handshakeFuture().addListener(f -> completeFallbackHandshake(f));
        }
    }

    private void completeFallbackHandshake(Future<? super Channel> f) {
        if (f.isSuccess()) {
            session = handshake.sslHandler.engine().getSession();
            applicationProtocol = handshake.sslHandler.applicationProtocol();
            handshakePromise.trySuccess(ctx.channel());
        } else {
            handshakePromise.tryFailure(f.cause());
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (state == State.HANDSHAKING || state == State.NEW) {
            handshakePromise.tryFailure(new SSLHandshakeException("KtlsHandler removed before the handshake completed"));
            if (handshake != null && ctx.channel().isOpen()) {
                // Removed by the user mid-handshake. (When the channel is closed the pipeline is being torn down
                // and removes the stack in front itself.)
                handshake.removeAll();
            }
        }
        releaseAll(new SSLException("KtlsHandler removed"));
        state = State.CLOSED;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (state == State.ACTIVE) {
            if (!closeNotifyReceived && !failed && !closing.isRequested()) {
                int partial = inbound.bufferedBytes();
                SSLException truncated = new SSLException(partial > 0
                        ? "connection closed in the middle of a record (" + partial + " bytes of it received)"
                        : "connection closed without close_notify (truncated stream)");
                failed = true;
                fireCloseEvent(truncated);
                ctx.fireExceptionCaught(truncated);
            } else {
                fireCloseEvent(new ClosedChannelException());
            }
            releaseAll(new ClosedChannelException());
            state = State.CLOSED;
        } else if (state == State.HANDSHAKING || state == State.NEW) {
            ClosedChannelException closed = new ClosedChannelException();
            handshakePromise.tryFailure(closed);
            handshakeWrites.fail(closed);
        }
        // Whatever the state: a closed channel's inbound is closed (usually reported above already).
        if (!sslClosePromise.isDone()) {
            sslClosePromise.tryFailure(new ClosedChannelException());
        }
        ctx.fireChannelInactive();
    }

    // ---------------------------------------------------------------- handshake and takeover

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent && state == State.HANDSHAKING) {
            SslHandshakeCompletionEvent event = (SslHandshakeCompletionEvent) evt;
            if (event.isSuccess()) {
                takeOver(ctx);
            } else {
                stopCollectingSecrets();
                handshakePromise.tryFailure(event.cause());
                handshakeWrites.fail(event.cause());
                ctx.fireUserEventTriggered(evt);
            }
            return;
        }
        if (evt instanceof SslCloseCompletionEvent) {
            if (takingOver || state != State.FALLBACK && state != State.HANDSHAKING) {
                // From the SslHandler we removed (it reports "removed before SSLEngine was closed"): not the peer's.
                return;
            }
            completeSslClose((SslCloseCompletionEvent) evt);
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * The takeover, in five steps:
     * <ol>
     *   <li>read what the record layer needs from the engine before SslHandler frees it ({@link EngineHandoff};
     *       a TLS 1.3 server first flushes the NewSessionTickets BoringSSL held back), or stay on SslHandler;</li>
     *   <li>start both directions of the record layer with the connection's keys ({@link ConnectionKeys});</li>
     *   <li>send the ticket records, ahead of anything of ours;</li>
     *   <li>leave SslHandler behind, replay the writes queued meanwhile and flush (a TLS 1.2 SslHandler announces
     *       the handshake before flushing its Finished);</li>
     *   <li>announce the handshake, then remove the splitter: the records it held back arrive raw, at the read
     *       sequence the handoff named, and are read.</li>
     * </ol>
     */
    private void takeOver(ChannelHandlerContext ctx) {
        EngineHandoff handoff;
        try {
            handoff = handshake.readHandoff(config.takeoverSuites());
        } catch (SSLException | RuntimeException e) {
            handshakePromise.tryFailure(e);
            handshakeWrites.fail(e);
            ctx.fireExceptionCaught(e);
            ctx.close();
            return;
        }
        if (handoff == null) {
            fallBack(ctx);
            return;
        }
        try (EngineHandoff h = handoff) {
            startRecordLayer(ctx, h);
            handshake.sendTickets(h.takeTicketFlight());
        } catch (RuntimeException e) {
            releaseAll(e);
            handshakePromise.tryFailure(e);
            ctx.fireExceptionCaught(e);
            ctx.close();
            state = State.CLOSED;
            return;
        }
        if (leaveSslHandler(ctx)) {
            announceHandshake(ctx);
        }
    }

    /** Derives the keys and starts both layers; on failure whatever was made is released by the caller. */
    private void startRecordLayer(ChannelHandlerContext ctx, EngineHandoff h) {
        keys = h.deriveKeys(provider(h.suite));
        suite = h.suite;
        session = h.session;
        applicationProtocol = h.applicationProtocol;
        inbound = new InboundRecordLayer(keys, h.server, h.readSequence, ctx.alloc(), config.stats(),
                new InboundEvents());
        firstWriteSequence = h.writeSequence;
    }

    /**
     * The record layer is live: SslHandler leaves, our write side opens (in the kernel or here), and the writes
     * queued during the handshake go out. False when the connection failed instead (kernel TLS required and
     * refused, or a write side that could not be made): it is closed and the handshake failed.
     */
    private boolean leaveSslHandler(ChannelHandlerContext ctx) {
        // Until the handshake is announced: SslHandler's "removed before SSLEngine was closed" is not the peer's
        // close, and records that arrive meanwhile wait for the record layer.
        takingOver = true;
        handshake.removeSslHandler();
        try {
            outbound = openOutbound(ctx);
        } catch (SSLException | RuntimeException e) {
            releaseAll(e);
            handshakePromise.tryFailure(e);
            handshakeWrites.fail(e);
            ctx.fireExceptionCaught(e);
            ctx.close();
            state = State.CLOSED;
            return false;
        }
        offloaded = outbound.isOffloaded();
        state = State.ACTIVE;
        if (kernel) {
            config.stats().kernelSessionStarted(suite);
        } else {
            config.stats().sessionStarted(suite, offloaded);
        }
        sessionCounted = true;
        RecordLayerEvents.takeover(ctx.channel(), suite, kernel ? "kernel" : offloaded ? "offload" : "inline");
        handshakeWrites.replayTo(outbound);
        ctx.flush();
        return true;
    }

    /**
     * Our write side: the kernel's when {@link KtlsConfig#kernelTls()} asks for it and the socket takes the keys,
     * else the user-space record layer. The handshake's last records (a TLS 1.2 Finished, TLS 1.3 tickets) are
     * flushed to the socket first: the kernel would seal anything still queued a second time.
     */
    private OutboundPath openOutbound(ChannelHandlerContext ctx) throws SSLException {
        KernelTls mode = config.kernelTls();
        if (mode != KernelTls.OFF) {
            ctx.flush();
            try {
                OutboundPath path = KernelOutbound.install(ctx, keys, firstWriteSequence, config,
                        new OutboundEvents());
                kernel = true;
                return path;
            } catch (KernelOutbound.KernelTlsRefused refused) {
                config.stats().kernelRefused(refused.refusal);
                RecordLayerEvents.kernelTlsRefused(ctx.channel(), refused.refusal, refused.getMessage());
                if (mode == KernelTls.REQUIRED) {
                    throw new SSLException("kernel TLS refused (" + refused.refusal + "): " + refused.getMessage()
                            + ", and KtlsConfig requires it");
                }
            }
        }
        return new OutboundRecordLayer(ctx, keys, firstWriteSequence, config, new OutboundEvents());
    }

    /**
     * Completes the handshake for the handlers after us, then removes the splitter: the records it held back
     * arrive raw, at the read sequence the handoff named, and are read now.
     */
    private void announceHandshake(ChannelHandlerContext ctx) {
        handshakePromise.trySuccess(ctx.channel());
        ctx.fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
        handshake.removeSplitter();
        takingOver = false;
        processInbound(ctx);
    }

    private AeadProvider provider(TlsCipherSuite suite) {
        AeadProvider configured = config.aeadProvider();
        return configured != null ? configured : AeadProviders.preferred(suite);
    }

    private void fallBack(ChannelHandlerContext ctx) {
        state = State.FALLBACK;
        config.stats().fallback();
        handshake.stayOnSslHandler();
        session = handshake.sslHandler.engine().getSession();
        RecordLayerEvents.fallback(ctx.channel(), "negotiated " + session.getProtocol() + ' '
                + session.getCipherSuite() + ", which the record layer does not take over");
        applicationProtocol = handshake.sslHandler.applicationProtocol();
        handshakePromise.trySuccess(ctx.channel());
        handshakeWrites.replayTo(ctx);
        ctx.fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
    }

    // ---------------------------------------------------------------- inbound

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        switch (state) {
            case ACTIVE:
                if (!(msg instanceof ByteBuf)) {
                    ctx.fireChannelRead(msg);
                    return;
                }
                if (failed || closeNotifyReceived) {
                    // Nothing more is processed: buffering it until the close would only let a peer that keeps
                    // sending (and perhaps stops reading our alert) grow our memory for the whole flush timeout.
                    ReferenceCountUtil.release(msg);
                    return;
                }
                inbound.add((ByteBuf) msg);
                if (!takingOver) {
                    processInbound(ctx);
                }
                return;
            case CLOSED:
                ReferenceCountUtil.release(msg);
                return;
            default:
                // Plaintext from SslHandler: while handshaking (nothing, with the splitter) or after a fallback.
                ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.ACTIVE && !firedReadSinceComplete && !ctx.channel().config().isAutoRead()) {
            // Only part of a record (or only control records) arrived: the handlers after us saw nothing and
            // will not ask for more, so we do (as SslHandler does).
            ctx.read();
        }
        firedReadSinceComplete = false;
        ctx.fireChannelReadComplete();
    }

    private void processInbound(ChannelHandlerContext ctx) {
        if (processingInbound || inbound == null) {
            return;
        }
        processingInbound = true;
        try {
            inbound.process();
        } catch (TlsRecordException e) {
            abort(ctx, e.alertDescription(), e);
        } catch (RuntimeException e) {
            // Our own failure while reading (an AEAD provider that breaks, a key we cannot derive), not the
            // peer's input: the connection ends as on bad input, with internal_error, rather than the exception
            // escaping channelRead and the connection going on with its inbound side half done.
            abort(ctx, INTERNAL_ERROR, new SSLException("reading the peer's records failed", e));
        } finally {
            processingInbound = false;
        }
    }

    /** What the peer's records mean for this connection (kept off the public surface of the handler). */
    private final class InboundEvents implements InboundRecordLayer.Listener {
        @Override
        public void applicationData(ByteBuf data) {
            firedReadSinceComplete = true;
            ctx.fireChannelRead(data);
        }

        @Override
        public void closeNotifyReceived() {
            closeNotifyReceived = true;
            fireCloseEvent(null);
            closing.request();
            // Answer with our close_notify (after our pending data), then close, as SslHandler does.
            outbound.closeOutbound(closing.afterFinalRecord(ctx.newPromise()));
        }

        @Override
        public void fatalAlertReceived(int description) {
            SSLException cause = new SSLException("received fatal alert: " + TlsRecords.alertName(description));
            failed = true;
            outbound.fail(cause);
            fireCloseEvent(cause);
            ctx.fireExceptionCaught(cause);
            ctx.close();
        }

        @Override
        public void keyUpdateRequested() {
            outbound.keyUpdate(false);
        }

        @Override
        public void renegotiationRefused() {
            outbound.warningAlert(TlsRecords.NO_RENEGOTIATION);
        }
    }

    /** Bad input: the alert after what is already framed, the exception to the pipeline, then close. */
    private void abort(ChannelHandlerContext ctx, byte alertDescription, SSLException cause) {
        if (failed) {
            return;
        }
        failed = true;
        inbound.stop();
        outbound.fatalAlert(alertDescription, cause, closing.afterFinalRecord(ctx.newPromise()));
        fireCloseEvent(cause);
        ctx.fireExceptionCaught(cause);
    }

    private void fireCloseEvent(Throwable cause) {
        if (closeEventFired) {
            return;
        }
        closeEventFired = true;
        if (failed) {
            RecordLayerEvents.connectionFailed(ctx.channel(), suite, cause);
        }
        SslCloseCompletionEvent event = cause == null ? SslCloseCompletionEvent.SUCCESS
                : new SslCloseCompletionEvent(cause);
        completeSslClose(event);
        ctx.fireUserEventTriggered(event);
    }

    private void completeSslClose(SslCloseCompletionEvent event) {
        if (event.isSuccess()) {
            sslClosePromise.trySuccess(ctx.channel());
        } else {
            sslClosePromise.tryFailure(event.cause());
        }
    }

    /** Failures of the write side (kept off the public surface of the handler). */
    private final class OutboundEvents implements OutboundRecordLayer.Listener {
        @Override
        public void recordLayerFailed(Throwable cause) {
            if (inbound != null) {
                inbound.stop();
            }
            if (failed) {
                ctx.close();
                return;
            }
            failed = true;
            SSLException failure = cause instanceof SSLException ? (SSLException) cause
                    : new SSLException("record layer failed", cause);
            fireCloseEvent(failure);
            ctx.fireExceptionCaught(failure);
            ctx.close();
        }

        @Override
        public void writeFailed(Throwable cause) {
            // Not ours to report: the write promises carry the cause, and a transport error reaches
            // exceptionCaught from the transport itself. Whether the stream ended cleanly is decided when the
            // channel goes inactive (close_notify seen or not).
            ctx.close();
        }
    }

    // ---------------------------------------------------------------- outbound

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        switch (state) {
            case ACTIVE:
                outbound.write(msg, promise);
                return;
            case NEW:
            case HANDSHAKING:
                handshakeWrites.add(msg, promise);
                return;
            case FALLBACK:
                // The ChunkedWriteHandler in front of SslHandler reads files and chunked inputs into buffers.
                ctx.write(msg instanceof FileRegion ? new FileRegionChunks((FileRegion) msg) : msg, promise);
                return;
            default:
                ReferenceCountUtil.release(msg);
                promise.tryFailure(new ClosedChannelException());
        }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) throws Exception {
        switch (state) {
            case ACTIVE:
                outbound.flush();
                return;
            case NEW:
            case HANDSHAKING:
                handshakeWrites.requestFlush();
                return;
            default:
                ctx.flush();
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
        if (state == State.ACTIVE && closing.join(promise)) {
            // Our fatal alert or close_notify is still being sealed or written: closing now would cut it off,
            // with the records before it, so this close joins that one (which the flush timeout bounds).
            return;
        }
        if (state != State.ACTIVE || closing.isRequested() || failed) {
            ctx.close(promise);
            return;
        }
        closing.request();
        ChannelPromise notifySent = closing.afterFinalRecord(promise.unvoid());
        outbound.flush();
        outbound.closeOutbound(notifySent);
    }

    // ---------------------------------------------------------------- teardown

    /** Releases buffers and zeroes keys; idempotent. */
    private void releaseAll(Throwable cause) {
        stopCollectingSecrets();
        handshakeWrites.fail(cause);
        if (outbound != null) {
            outbound.fail(cause);
            outbound.close();
            outbound = null;
        }
        if (sessionCounted) {
            sessionCounted = false;
            if (kernel) {
                config.stats().kernelSessionEnded(suite);
            } else {
                config.stats().sessionEnded(suite, offloaded);
            }
        }
        if (inbound != null) {
            inbound.close();
            inbound = null;
        }
        if (keys != null) {
            keys.close();
            keys = null;
        }
    }

    private void stopCollectingSecrets() {
        if (handshake != null) {
            handshake.stopCollecting();
        }
    }
}
