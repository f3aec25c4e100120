package io.ktls.examples.fileserver;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Ticker;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Closes a connection on which nothing has moved for {@code --idle-timeout}: no byte read, no write
 * completed, and no progress of the bytes waiting to go out. It is the first handler of the pipeline, in
 * front of TLS, so it sees the connection as the socket does:
 * <ul>
 *   <li>a client that connects and never starts (or never finishes) the TLS handshake sends no bytes:
 *       closed;</li>
 *   <li>an idle keep-alive connection, or a client that stops in the middle of a request: closed;</li>
 *   <li>a client slowly downloading a large file sends nothing, but what the server wrote keeps draining
 *       into the socket: kept open however long the download takes;</li>
 *   <li>a client that stops reading in the middle of a download: the output stops draining, closed.</li>
 * </ul>
 *
 * <p>Why not {@code IdleStateHandler}: reader-idle fires in the middle of every download longer than the
 * timeout; all-idle with {@code observeOutput} still fires its first event when only the output moved (it
 * looks at the output from the second event on), and in plain mode a whole body is one
 * {@code DefaultFileRegion} whose write completes only at its end.
 *
 * <h2>Steps</h2>
 * <ol>
 *   <li>Each read and each completed write sets {@code lastActivityNanos} to now.</li>
 *   <li>A check runs one timeout after the last activity it knows of. It samples the channel's outbound
 *       buffer (the message at its head, the bytes pending, the progress of the head message); any change
 *       since the previous check counts as activity now.</li>
 *   <li>Nothing for a whole timeout: the connection is counted and closed. When the outbound buffer is
 *       empty the close goes through the pipeline, so TLS sends close_notify; when bytes are stuck in it a
 *       close_notify would queue behind them, so the socket is closed at once.</li>
 * </ol>
 * The output is only sampled at the checks, so a download that stalls is closed between one and two
 * timeouts after its last progress; a quiet connection is closed one timeout after its last byte.
 *
 * <p>Threads: one instance per connection, used only by that connection's event loop (handler callbacks,
 * write listeners and the scheduled check all run there).
 */
final class IdleConnectionCloser extends ChannelDuplexHandler {

    private final long timeoutNanos;
    private final LongAdder closedConnections;

    private ChannelHandlerContext ctx;
    /** The event loop's clock, which its scheduled tasks follow too. */
    private Ticker ticker;
    /** True from the first start or stop on: a stopped closer is not started again by a late channelActive. */
    private boolean started;
    private Future<?> check;
    private long lastActivityNanos;
    /** The outbound buffer as the previous check saw it. */
    private int lastHeadIdentity;
    private long lastPendingBytes;
    private long lastHeadProgress;
    private final ChannelFutureListener writeCompleted = future -> lastActivityNanos = ticker.nanoTime();

    /**
     * @param timeoutNanos      how long a connection may stay still, {@code > 0}
     * @param closedConnections counts the connections this closes
     */
    IdleConnectionCloser(long timeoutNanos, LongAdder closedConnections) {
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeoutNanos: " + timeoutNanos + " (expected: > 0)");
        }
        this.timeoutNanos = timeoutNanos;
        this.closedConnections = closedConnections;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.ticker = ctx.executor().ticker();
        // An accepted channel is active before its pipeline is built: channelActive may never reach us.
        if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
            start();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        start();
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastActivityNanos = ticker.nanoTime();
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        // unvoid(): a void promise takes no listener; its replacement still reports failures to the pipeline.
        ctx.write(msg, promise.unvoid()).addListener(writeCompleted);
    }

    private void start() {
        if (started) {
            return;
        }
        started = true;
        lastActivityNanos = ticker.nanoTime();
        sampleOutput();
        check = ctx.executor().schedule(this::checkIdle, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void stop() {
        started = true;
        if (check != null) {
            check.cancel(false);
            check = null;
        }
    }

    private void checkIdle() {
        Channel channel = ctx.channel();
        if (!channel.isOpen()) {
            return;
        }
        long now = ticker.nanoTime();
        if (sampleOutput()) {
            lastActivityNanos = now;
        }
        long idleNanos = now - lastActivityNanos;
        if (idleNanos < timeoutNanos) {
            check = ctx.executor().schedule(this::checkIdle, timeoutNanos - idleNanos, TimeUnit.NANOSECONDS);
            return;
        }
        closedConnections.increment();
        if (lastPendingBytes > 0) {
            ctx.close();
        } else {
            channel.close();
        }
    }

    /** Records the outbound buffer's state; true when it differs from the previous sample. */
    private boolean sampleOutput() {
        ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
        if (buffer == null) {
            return false;
        }
        int headIdentity = System.identityHashCode(buffer.current());
        long pendingBytes = buffer.totalPendingWriteBytes();
        long headProgress = buffer.currentProgress();
        boolean changed = headIdentity != lastHeadIdentity || pendingBytes != lastPendingBytes
                || headProgress != lastHeadProgress;
        lastHeadIdentity = headIdentity;
        lastPendingBytes = pendingBytes;
        lastHeadProgress = headProgress;
        return changed;
    }
}
