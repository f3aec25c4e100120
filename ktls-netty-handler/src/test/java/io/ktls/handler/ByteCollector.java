package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.util.concurrent.CompletableFuture;

/**
 * A client's last handler: gathers the plaintext it receives and completes {@link #received()} with the first
 * {@code expected} bytes or more, or exceptionally ("closed early") if the channel closes before. Event loop only;
 * its buffer is released on either path.
 */
final class ByteCollector extends ChannelInboundHandlerAdapter {

    private final int expected;
    private final ByteBuf all;
    private final CompletableFuture<byte[]> received = new CompletableFuture<>();

    ByteCollector(int expected) {
        this.expected = expected;
        this.all = Unpooled.buffer(expected);
    }

    CompletableFuture<byte[]> received() {
        return received;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (received.isDone()) {
            buf.release();
            return;
        }
        all.writeBytes(buf);
        buf.release();
        if (all.readableBytes() >= expected) {
            byte[] bytes = new byte[all.readableBytes()];
            all.readBytes(bytes);
            all.release();
            received.complete(bytes);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (all.refCnt() > 0) {
            all.release();
        }
        received.completeExceptionally(new IllegalStateException("closed early"));
    }
}
