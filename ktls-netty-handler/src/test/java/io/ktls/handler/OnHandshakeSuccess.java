package io.ktls.handler;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

import java.util.function.Consumer;

/**
 * Runs {@code action} on the channel's event loop once the TLS handshake has succeeded: where a test's server
 * starts writing. Other user events stop here. Not final: a test that also watches another event overrides it.
 */
class OnHandshakeSuccess extends ChannelInboundHandlerAdapter {

    private final Consumer<ChannelHandlerContext> action;

    OnHandshakeSuccess(Consumer<ChannelHandlerContext> action) {
        this.action = action;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == SslHandshakeCompletionEvent.SUCCESS) {
            action.accept(ctx);
        }
    }
}
