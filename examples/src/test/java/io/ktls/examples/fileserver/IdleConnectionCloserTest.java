package io.ktls.examples.fileserver;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The closer on an embedded channel with a frozen clock: what counts as activity, when and how it closes. */
class IdleConnectionCloserTest {

    private static final long TIMEOUT_MILLIS = 1000;

    private final LongAdder closed = new LongAdder();
    /** Sees the closes that travel the whole pipeline, as one TLS would answer with close_notify. */
    private final CloseRecorder tls = new CloseRecorder();
    private final EmbeddedChannel channel = new EmbeddedChannel(
            new IdleConnectionCloser(TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS), closed), tls);

    {
        channel.freezeTime();
    }

    @Test
    void connectionWithoutTrafficIsClosedThroughThePipelineAfterOneTimeout() {
        advance(TIMEOUT_MILLIS - 1);
        assertTrue(channel.isOpen());
        advance(1);
        assertFalse(channel.isOpen());
        assertEquals(1, closed.sum());
        assertTrue(tls.sawClose, "close skipped the handlers behind the closer");
    }

    @Test
    void readRestartsTheTimeout() {
        advance(900);
        ByteBuf request = Unpooled.copiedBuffer(new byte[] {'G'});
        channel.writeInbound(request);
        ReferenceCountUtil.release(channel.readInbound());
        advance(900);
        assertTrue(channel.isOpen(), "closed 900 ms after a read");
        advance(100);
        assertFalse(channel.isOpen());
        assertEquals(1, closed.sum());
    }

    @Test
    void completedWriteRestartsTheTimeout() {
        advance(900);
        channel.writeOutbound(Unpooled.copiedBuffer(new byte[] {'H'}));
        ReferenceCountUtil.release(channel.readOutbound());
        advance(900);
        assertTrue(channel.isOpen(), "closed 900 ms after a completed write");
        advance(100);
        assertFalse(channel.isOpen());
    }

    @Test
    void outputThatStopsMovingIsClosedAtOnceWithinTwoTimeouts() {
        ByteBuf response = Unpooled.copiedBuffer(new byte[100]);
        channel.write(response); // queued, never flushed: the peer that stopped reading
        advance(TIMEOUT_MILLIS);
        assertTrue(channel.isOpen(), "the output grew during the first timeout");
        advance(TIMEOUT_MILLIS);
        assertFalse(channel.isOpen());
        assertEquals(1, closed.sum());
        assertFalse(tls.sawClose, "a close_notify would only queue behind the stuck bytes");
        assertEquals(0, response.refCnt());
    }

    @Test
    void closedChannelIsNotClosedAgain() {
        channel.close();
        advance(3 * TIMEOUT_MILLIS);
        assertEquals(0, closed.sum());
    }

    @Test
    void timeoutMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IdleConnectionCloser(0, closed));
        assertEquals("timeoutNanos: 0 (expected: > 0)", e.getMessage());
    }

    private void advance(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    private static final class CloseRecorder extends ChannelOutboundHandlerAdapter {
        boolean sawClose;

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
            sawClose = true;
            super.close(ctx, promise);
        }
    }
}
