package io.ktls.handler;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

import java.util.ArrayDeque;

/**
 * Writes made before the handshake completed, in order, with whether a flush was asked for: replayed into the
 * record layer at the takeover, or through the pipeline to {@code SslHandler} when the connection stays there.
 * Owns each message until it is replayed or failed. Event loop only.
 */
final class HandshakeWrites {

    private final ArrayDeque<Object> messages = new ArrayDeque<>();
    private final ArrayDeque<ChannelPromise> promises = new ArrayDeque<>();
    private boolean flushRequested;

    void add(Object message, ChannelPromise promise) {
        messages.add(message);
        promises.add(promise);
    }

    void requestFlush() {
        flushRequested = true;
    }

    /** Into the record layer, flushed if a flush was asked for. */
    void replayTo(OutboundPath outbound) {
        while (!messages.isEmpty()) {
            outbound.write(messages.poll(), promises.poll());
        }
        if (flushRequested) {
            outbound.flush();
        }
    }

    /** Through the pipeline from {@code ctx} (a connection that stays on SslHandler). */
    void replayTo(ChannelHandlerContext ctx) {
        while (!messages.isEmpty()) {
            ctx.write(messages.poll(), promises.poll());
        }
        if (flushRequested) {
            ctx.flush();
        }
    }

    /** Releases every message and fails its promise. */
    void fail(Throwable cause) {
        while (!messages.isEmpty()) {
            PendingWrite.discard(messages.poll(), promises.poll(), cause);
        }
    }
}
