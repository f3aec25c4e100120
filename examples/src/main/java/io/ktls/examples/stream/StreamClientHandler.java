package io.ktls.examples.stream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One stream of the client: sends {@code STREAM} once the connection is secured, then counts (and with
 * a pattern period, verifies) what arrives and drops it. The event loop writes {@link #receivedBytes};
 * the main thread reads it for progress and the summary.
 */
final class StreamClientHandler extends ChannelInboundHandlerAdapter {

    private final long verifyPeriodBytes;
    private final StreamClient.Failures failures;
    final AtomicLong receivedBytes = new AtomicLong();
    volatile String protocol;
    volatile String cipherSuite;
    volatile boolean closed;
    private long received; // event loop only: receivedBytes without the volatile read

    /** @param verifyPeriodBytes the pattern's period to verify against, or -1 to skip verification */
    StreamClientHandler(long verifyPeriodBytes, StreamClient.Failures failures) {
        this.verifyPeriodBytes = verifyPeriodBytes;
        this.failures = failures;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        if (ctx.pipeline().get(SslHandler.class) == null) {
            request(ctx);
        }
        super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent) {
            SslHandshakeCompletionEvent handshake = (SslHandshakeCompletionEvent) evt;
            if (handshake.isSuccess()) {
                SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                protocol = ssl.engine().getSession().getProtocol();
                cipherSuite = ssl.engine().getSession().getCipherSuite();
                request(ctx);
            } else {
                failures.report("handshake failed: " + handshake.cause(), handshake.cause());
                ctx.close();
            }
        }
        super.userEventTriggered(ctx, evt);
    }

    private static void request(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(Unpooled.copiedBuffer("STREAM\n", StandardCharsets.US_ASCII));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            ByteBuf buf = (ByteBuf) msg;
            if (verifyPeriodBytes > 0) {
                long mismatch = StreamPattern.verify(buf, received, verifyPeriodBytes);
                if (mismatch >= 0) {
                    failures.report("verify: stream " + ctx.channel().id() + " differs from the pattern at byte "
                            + mismatch + " (file offset " + mismatch % verifyPeriodBytes + ")");
                    ctx.close();
                    return;
                }
            }
            received += buf.readableBytes();
            receivedBytes.lazySet(received);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        closed = true;
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failures.report("stream " + ctx.channel().id() + ": " + cause, cause);
        ctx.close();
    }
}
