package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.RecordCipher;
import io.ktls.handler.crypto.Tls12KeyBlock;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.ktls.handler.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
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
import io.netty.util.concurrent.ScheduledFuture;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

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
 * <ol>
 *   <li>protocol and suite; a suite outside {@link TlsCipherSuite}, an engine that is not BoringSSL's, or keys
 *       that cannot be read: stay on {@code SslHandler} for the connection ({@link #isRecordLayerActive()} is
 *       false, counted as a fallback);</li>
 *   <li>read everything from the engine ({@link EngineHandoff}): it is freed when {@code SslHandler} leaves;
 *       a TLS 1.3 server first flushes BoringSSL's NewSessionTickets so clients get them;</li>
 *   <li>write the ticket records, remove {@code SslHandler}, frame the writes queued during the handshake and
 *       flush (a TLS 1.2 {@code SslHandler} announces the handshake before flushing its Finished);</li>
 *   <li>complete {@link #handshakeFuture()}, fire the success event, then remove the splitter: the records it
 *       held back arrive raw at the read sequence the handoff names.</li>
 * </ol>
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
    /** Package-private for tests: records per TLS 1.3 write key before a KeyUpdate. */
    long keyUpdateAfterRecords = OutboundRecordLayer.DEFAULT_KEY_UPDATE_AFTER_RECORDS;
    /** Package-private for tests: makes the sealer (null: inline, or offload when configured). */
    SealerFactory sealerFactory;

    /** Makes the {@link RecordSealer} of a connection; lets tests complete records in an order of their own. */
    interface SealerFactory {
        RecordSealer create(RecordEncryptor sealing, RecordSealer.Completion completion, Channel channel);
    }

    private ChannelHandlerContext ctx;
    /** Written on the event loop; volatile for the accessors that any thread may call. */
    private volatile State state = State.NEW;
    private SslHandler sslHandler;
    private TlsRecordSplitter splitter;
    private Tls13SecretCollector secrets;
    private long sslPointer;

    /** Writes made before the handshake completed, framed at the takeover. */
    private final ArrayDeque<Object> queuedMessages = new ArrayDeque<>();
    private final ArrayDeque<ChannelPromise> queuedPromises = new ArrayDeque<>();
    private boolean flushRequested;

    private TlsCipherSuite suite;
    private volatile SSLSession session;
    private volatile String applicationProtocol;
    private boolean offloaded;
    private OutboundRecordLayer outbound;
    private InboundRecordLayer inbound;
    private boolean takingOver;
    private boolean processingInbound;
    private boolean closeNotifyReceived;
    private boolean closeEventFired;
    private boolean failed;
    private boolean closeRequested;
    /**
     * The close under way behind a final record (our fatal alert or close_notify): done once the channel closes
     * after that record is written, or at the close_notify flush timeout. A {@code close()} asked for meanwhile
     * (typically by the application in {@code exceptionCaught}) joins it: closing at once would drop that record
     * and the ones before it (with an offload worker, or behind a slow socket). Null when none. With a zero
     * close_notify flush timeout, a repeated close closes at once.
     */
    private ChannelPromise closing;
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
        if (state == State.FALLBACK && sslHandler != null) {
            return sslHandler.engine().getSession();
        }
        return session;
    }

    /** The protocol ALPN selected, or {@code null}. */
    public String applicationProtocol() {
        if (state == State.FALLBACK && sslHandler != null) {
            return sslHandler.applicationProtocol();
        }
        return applicationProtocol;
    }

    /** True once this handler runs the record layer; false while handshaking and for a fallback connection. */
    public boolean isRecordLayerActive() {
        return state == State.ACTIVE;
    }

    /** The metrics of all connections of this JVM. */
    public static KtlsMetric metric() {
        return KtlsStats.GLOBAL;
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
                sslHandler.closeOutbound(promise);
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
        // SslContext.newHandler, not newEngine: the handler gets everything the context configures for it
        // (start-TLS mode, session resumption checks), exactly as without us.
        sslHandler = peerHost == null ? sslContext.newHandler(ctx.alloc())
                : sslContext.newHandler(ctx.alloc(), peerHost, peerPort);
        sslHandler.setHandshakeTimeoutMillis(config.handshakeTimeoutMillis());
        sslHandler.setCloseNotifyFlushTimeoutMillis(config.closeNotifyFlushTimeoutMillis());
        SSLEngine engine = sslHandler.engine();
        ChannelPipeline pipeline = ctx.pipeline();
        boolean canTakeOver = false;
        if (engine instanceof ReferenceCountedOpenSslEngine) {
            sslPointer = ((ReferenceCountedOpenSslEngine) engine).sslPointer();
            secrets = new Tls13SecretCollector(config.keyLogFile());
            canTakeOver = BoringSslKeyLog.register(sslContext, sslPointer, secrets);
            if (!canTakeOver) {
                secrets.close();
                secrets = null;
            }
        }
        state = canTakeOver ? State.HANDSHAKING : State.FALLBACK;
        if (state == State.FALLBACK) {
            KtlsStats.GLOBAL.fallback();
            // SslHandler rejects anything but ByteBuf: turn files and chunked inputs into buffers before it.
            pipeline.addBefore(ctx.name(), null, sslHandler);
            pipeline.addBefore(ctx.name(), null, new ChunkedWriteHandler());
            sslHandler.handshakeFuture().addListener(f -> completeFallbackHandshake(f));
            return;
        }
        splitter = new TlsRecordSplitter();
        pipeline.addBefore(ctx.name(), null, sslHandler);
        pipeline.addBefore(pipeline.context(sslHandler).name(), null, splitter);
    }

    private void completeFallbackHandshake(Future<? super Channel> f) {
        if (f.isSuccess()) {
            SSLEngine engine = sslHandler.engine();
            session = engine.getSession();
            applicationProtocol = sslHandler.applicationProtocol();
            handshakePromise.trySuccess(ctx.channel());
        } else {
            handshakePromise.tryFailure(f.cause());
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (state == State.HANDSHAKING || state == State.NEW) {
            handshakePromise.tryFailure(new SSLHandshakeException("KtlsHandler removed before the handshake completed"));
            if (ctx.channel().isOpen()) {
                // Removed by the user mid-handshake: the half-built stack in front would pass raw TLS on, so it
                // goes too. (When the channel is closed the pipeline is being torn down and removes it itself.)
                removeIfPresent(ctx, splitter);
                removeIfPresent(ctx, sslHandler);
            }
        }
        releaseAll(new SSLException("KtlsHandler removed"));
        state = State.CLOSED;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (state == State.ACTIVE) {
            if (!closeNotifyReceived && !failed && !closeRequested) {
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
            failQueuedWrites(closed);
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
                unregisterKeyLog();
                handshakePromise.tryFailure(event.cause());
                failQueuedWrites(event.cause());
                ctx.fireUserEventTriggered(evt);
            }
            return;
        }
        if (evt instanceof SslCloseCompletionEvent) {
            if (state != State.FALLBACK && state != State.HANDSHAKING) {
                // From the SslHandler we removed (it reports "removed before SSLEngine was closed"): not the peer's.
                return;
            }
            completeSslClose((SslCloseCompletionEvent) evt);
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void takeOver(ChannelHandlerContext ctx) {
        ReferenceCountedOpenSslEngine engine = (ReferenceCountedOpenSslEngine) sslHandler.engine();
        TlsCipherSuite negotiated = EngineHandoff.supportedSuite(engine);
        if (negotiated != null && !config.takeoverSuites().contains(negotiated)) {
            negotiated = null; // implemented, but configured to stay on SslHandler
        }
        EngineHandoff handoff = null;
        try {
            if (negotiated != null) {
                handoff = EngineHandoff.read(engine, negotiated, secrets, ctx.alloc());
            }
        } catch (SSLException | RuntimeException e) {
            unregisterKeyLog();
            handshakePromise.tryFailure(e);
            failQueuedWrites(e);
            ctx.fireExceptionCaught(e);
            ctx.close();
            return;
        }
        unregisterKeyLog();
        if (handoff == null) {
            fallBack(ctx);
            return;
        }
        RecordCipher writeCipher = null;
        RecordCipher readCipher = null;
        TrafficKeys writeKeys = null;
        TrafficKeys readKeys = null;
        try (EngineHandoff h = handoff) {
            if (negotiated.isTls13()) {
                TrafficKeys[] keys = TrafficKeys.tls13Directions(negotiated, h.clientSecret, h.serverSecret);
                writeKeys = h.server ? keys[1] : keys[0];
                readKeys = h.server ? keys[0] : keys[1];
            } else {
                try (Tls12KeyBlock block = Tls12KeyBlock.derive(negotiated, h.masterSecret, h.clientRandom,
                        h.serverRandom)) {
                    writeCipher = RecordCipher.create(negotiated, h.server ? block.serverWrite() : block.clientWrite(),
                            provider(negotiated));
                    readCipher = RecordCipher.create(negotiated, h.server ? block.clientWrite() : block.serverWrite(),
                            provider(negotiated));
                }
            }
            if (writeCipher == null) {
                writeCipher = RecordCipher.create(negotiated, writeKeys, provider(negotiated));
                readCipher = RecordCipher.create(negotiated, readKeys, provider(negotiated));
            }
            suite = negotiated;
            session = h.session;
            applicationProtocol = h.applicationProtocol;
            inbound = new InboundRecordLayer(negotiated, h.server, readCipher, h.readSequence, readKeys,
                    provider(negotiated), ctx.alloc(), new InboundEvents());
            readCipher = null;
            readKeys = null;
            outbound = new OutboundRecordLayer(ctx, negotiated, config, h.writeSequence, writeKeys,
                    Math.min(keyUpdateAfterRecords, negotiated.maxRecordsPerKey()), provider(negotiated),
                    new OutboundEvents());
            writeKeys = null;
            outbound.sealer(newSealer(ctx, new RecordEncryptor(writeCipher, ctx.alloc(), KtlsStats.GLOBAL)));
            writeCipher = null;
            ByteBuf tickets = h.takeTicketFlight();
            if (tickets != null) {
                if (tickets.isReadable()) {
                    ctx.pipeline().context(sslHandler).write(tickets);
                } else {
                    tickets.release();
                }
            }
        } catch (RuntimeException e) {
            closeQuietly(writeCipher);
            closeQuietly(readCipher);
            if (writeKeys != null) {
                writeKeys.close();
            }
            if (readKeys != null) {
                readKeys.close();
            }
            releaseAll(e);
            handshakePromise.tryFailure(e);
            ctx.fireExceptionCaught(e);
            ctx.close();
            state = State.CLOSED;
            return;
        }

        state = State.ACTIVE;
        takingOver = true;
        KtlsStats.GLOBAL.sessionStarted(suite, offloaded);
        sessionCounted = true;
        ctx.pipeline().remove(sslHandler);
        while (!queuedMessages.isEmpty()) {
            outbound.write(queuedMessages.poll(), queuedPromises.poll());
        }
        if (flushRequested) {
            outbound.flush();
        }
        ctx.flush();
        handshakePromise.trySuccess(ctx.channel());
        ctx.fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
        if (ctx.pipeline().context(splitter) != null) {
            ctx.pipeline().remove(splitter);
        }
        splitter = null;
        takingOver = false;
        processInbound(ctx);
    }

    private AeadProvider provider(TlsCipherSuite suite) {
        AeadProvider configured = config.aeadProvider();
        return configured != null ? configured : AeadProviders.preferred(suite);
    }

    private RecordSealer newSealer(ChannelHandlerContext ctx, RecordEncryptor sealing) {
        if (sealerFactory != null) {
            return sealerFactory.create(sealing, outbound, ctx.channel());
        }
        KtlsOffloadGroup group = config.offloadGroup();
        if (group != null) {
            offloaded = true;
            return new OffloadRecordSealer(sealing, outbound, group, ctx.channel());
        }
        return new InlineRecordSealer(sealing, outbound);
    }

    private void fallBack(ChannelHandlerContext ctx) {
        state = State.FALLBACK;
        KtlsStats.GLOBAL.fallback();
        ctx.pipeline().addBefore(ctx.name(), null, new ChunkedWriteHandler());
        session = sslHandler.engine().getSession();
        applicationProtocol = sslHandler.applicationProtocol();
        if (ctx.pipeline().context(splitter) != null) {
            ctx.pipeline().remove(splitter);
        }
        splitter = null;
        handshakePromise.trySuccess(ctx.channel());
        while (!queuedMessages.isEmpty()) {
            ctx.write(queuedMessages.poll(), queuedPromises.poll());
        }
        if (flushRequested) {
            ctx.flush();
        }
        ctx.fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
    }

    private void unregisterKeyLog() {
        if (secrets != null) {
            BoringSslKeyLog.unregister(sslPointer, secrets);
            secrets.close();
            secrets = null;
        }
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
            closeRequested = true;
            // Answer with our close_notify (after our pending data), then close, as SslHandler does.
            ChannelPromise closed = ctx.newPromise();
            closing = closed;
            outbound.closeOutbound(ctx.newPromise().addListener(f -> closeOnce(ctx, closed)));
            scheduleForcedClose(ctx, closed);
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
        ChannelPromise alertWritten = ctx.newPromise();
        ChannelPromise closed = ctx.newPromise();
        closing = closed;
        alertWritten.addListener(f -> closeOnce(ctx, closed));
        outbound.fatalAlert(alertDescription, cause, alertWritten);
        scheduleForcedClose(ctx, closed);
        fireCloseEvent(cause);
        ctx.fireExceptionCaught(cause);
    }

    /** Closes with {@code promise} unless the forced close (or the alert's write) already did. */
    private static void closeOnce(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!promise.isDone()) {
            ctx.close(promise);
        }
    }

    private void scheduleForcedClose(ChannelHandlerContext ctx, ChannelPromise closed) {
        if (closed.isDone() || config.closeNotifyFlushTimeoutMillis() == 0) {
            return;
        }
        ScheduledFuture<?> timeout = ctx.executor().schedule(() -> {
            if (!closed.isDone()) {
                ctx.close(closed);
            }
        }, config.closeNotifyFlushTimeoutMillis(), TimeUnit.MILLISECONDS);
        closed.addListener(f -> timeout.cancel(false));
    }

    private void fireCloseEvent(Throwable cause) {
        if (closeEventFired) {
            return;
        }
        closeEventFired = true;
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
                queuedMessages.add(msg);
                queuedPromises.add(promise);
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
                flushRequested = true;
                return;
            default:
                ctx.flush();
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
        if (state == State.ACTIVE && closing != null && !closing.isDone()
                && (config.closeNotifyFlushTimeoutMillis() > 0 || !closeRequested)) {
            // Our fatal alert or close_notify is still being sealed or written: closing now would cut it off,
            // with the records before it, so this close joins that one (which the flush timeout bounds). With
            // no timeout, a repeated close is how the application gives up on a peer that does not read.
            closeRequested = true;
            if (!promise.isVoid()) {
                closing.addListener(f -> cascade(f, promise));
            }
            return;
        }
        if (state != State.ACTIVE || closeRequested || failed) {
            ctx.close(promise);
            return;
        }
        closeRequested = true;
        ChannelPromise closed = promise.unvoid();
        closing = closed;
        ChannelPromise notifySent = ctx.newPromise();
        notifySent.addListener(f -> closeOnce(ctx, closed));
        outbound.flush();
        outbound.closeOutbound(notifySent);
        scheduleForcedClose(ctx, closed);
    }

    private static void cascade(Future<?> from, ChannelPromise to) {
        if (from.isSuccess()) {
            to.trySuccess();
        } else {
            to.tryFailure(from.cause());
        }
    }

    // ---------------------------------------------------------------- teardown

    private void failQueuedWrites(Throwable cause) {
        while (!queuedMessages.isEmpty()) {
            new PendingWrite(queuedMessages.poll(), queuedPromises.poll()).fail(cause);
        }
    }

    /** Releases buffers and zeroes keys; idempotent. */
    private void releaseAll(Throwable cause) {
        unregisterKeyLog();
        failQueuedWrites(cause);
        if (outbound != null) {
            outbound.fail(cause);
            outbound.close();
            outbound = null;
        }
        if (sessionCounted) {
            sessionCounted = false;
            KtlsStats.GLOBAL.sessionEnded(suite, offloaded);
        }
        if (inbound != null) {
            inbound.close();
            inbound = null;
        }
    }

    private static void removeIfPresent(ChannelHandlerContext ctx, io.netty.channel.ChannelHandler handler) {
        if (handler != null && ctx.pipeline().context(handler) != null) {
            ctx.pipeline().remove(handler);
        }
    }

    private static void closeQuietly(RecordCipher cipher) {
        if (cipher != null) {
            cipher.close();
        }
    }
}
