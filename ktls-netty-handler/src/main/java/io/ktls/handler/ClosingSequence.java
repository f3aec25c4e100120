package io.ktls.handler;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * The close of an active connection behind its final record (our close_notify, or a fatal alert): the channel
 * closes once that record is written, or at the close_notify flush timeout, whichever comes first. A
 * {@code close()} asked for meanwhile (typically by the application in {@code exceptionCaught}) joins it:
 * closing at once would drop that record and the ones before it (with an offload worker, or behind a slow
 * socket). With a zero flush timeout there is no bound, and a repeated close is how the application gives up on
 * a peer that does not read: it closes at once.
 *
 * <p>Event loop only.
 */
final class ClosingSequence {

    private final ChannelHandlerContext ctx;
    private final long flushTimeoutMillis;
    /** Done when the channel has closed after the final record; null before any close began. */
    private ChannelPromise closing;
    /** A close was asked for (by the application, or answering the peer's close_notify). */
    private boolean requested;

    ClosingSequence(ChannelHandlerContext ctx, long flushTimeoutMillis) {
        this.ctx = ctx;
        this.flushTimeoutMillis = flushTimeoutMillis;
    }

    boolean isRequested() {
        return requested;
    }

    void request() {
        requested = true;
    }

    /**
     * Begins the close that follows a final record: the returned promise is for that record's write; when it
     * completes, or at the flush timeout, the channel closes with {@code closed}.
     */
    ChannelPromise afterFinalRecord(ChannelPromise closed) {
        closing = closed;
        ChannelPromise finalRecordWritten = ctx.newPromise();
        finalRecordWritten.addListener(f -> closeOnce(closed));
        if (flushTimeoutMillis > 0) {
            ScheduledFuture<?> timeout = ctx.executor().schedule(() -> closeOnce(closed), flushTimeoutMillis,
                    TimeUnit.MILLISECONDS);
            closed.addListener(f -> timeout.cancel(false));
        }
        return finalRecordWritten;
    }

    /**
     * A {@code close(promise)} while a final record is being sealed or written: joins that close (completing
     * {@code promise} with it) and returns true; false when the caller should close now.
     */
    boolean join(ChannelPromise promise) {
        if (closing == null || closing.isDone() || (flushTimeoutMillis == 0 && requested)) {
            return false;
        }
        requested = true;
        if (!promise.isVoid()) {
            closing.addListener(f -> cascade(f, promise));
        }
        return true;
    }

    /** Closes with {@code promise} unless the timeout (or the final record's write) already did. */
    private void closeOnce(ChannelPromise promise) {
        if (!promise.isDone()) {
            ctx.close(promise);
        }
    }

    /**
     * A second close_notify asked for: {@code promise} completes with the first one's ({@code previous}), or at
     * once when there was none (the layer failed or sent a fatal alert instead).
     */
    static void joinPrevious(ChannelPromise previous, ChannelPromise promise) {
        if (previous != null) {
            previous.addListener(f -> cascade(f, promise));
        } else {
            promise.trySuccess();
        }
    }

    /** Completes {@code to} as {@code from} completed (a close joining one already under way, say). */
    static void cascade(Future<?> from, ChannelPromise to) {
        if (from.isSuccess()) {
            to.trySuccess();
        } else {
            to.tryFailure(from.cause());
        }
    }
}
