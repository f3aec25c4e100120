package io.ktls.handler.interop;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The Netty client end of one interop transfer, behind its TLS handler: starts the transfer once the handshake
 * succeeds, counts what the server sends, notes whether the server's close_notify arrived and the first failure
 * (a failed handshake, or an exception, which closes the channel), and reports when the connection is gone.
 * Fields are read and written on the channel's event loop only.
 */
abstract class TransferClientHandler extends ChannelInboundHandlerAdapter {

    final ReceivedBytes received = new ReceivedBytes();
    boolean closeNotifyReceived;
    Throwable failure;

    /** The handshake succeeded: send the request or the upload. */
    abstract void handshakeSucceeded(ChannelHandlerContext ctx);

    /** The connection is closed: report what was seen. */
    abstract void closed();

    /** Takes the bytes of one read; the caller releases {@code buf}. */
    void read(ByteBuf buf) {
        received.update(buf);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent handshake) {
            if (handshake.isSuccess()) {
                handshakeSucceeded(ctx);
            } else {
                failure = handshake.cause();
                ctx.close();
            }
        } else if (evt instanceof SslCloseCompletionEvent close) {
            closeNotifyReceived = close.isSuccess();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        try {
            read(buf);
        } finally {
            buf.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed();
    }
}
