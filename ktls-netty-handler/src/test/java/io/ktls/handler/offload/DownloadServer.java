package io.ktls.handler.offload;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsHandler;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A loopback TLS server with {@link KtlsHandler} in front: each client sends one request byte after the
 * handshake, and the server answers with whatever {@code response} makes for that byte (a file region, a
 * buffer...), written and flushed in one go, then closes the connection (close_notify first). Records every
 * server channel, write future and exception so tests can check how each connection ended.
 */
final class DownloadServer implements AutoCloseable {

    private final EventLoopGroup group;
    private final Channel serverChannel;
    final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    final List<ChannelFuture> writes = new CopyOnWriteArrayList<>();
    final List<Throwable> exceptions = new CopyOnWriteArrayList<>();
    final AtomicInteger closedChildren = new AtomicInteger();
    final AtomicInteger acceptedChildren = new AtomicInteger();
    /** Every writability change of any server channel, in order: {@code false} when it turned unwritable. */
    final List<Boolean> writability = new CopyOnWriteArrayList<>();

    DownloadServer(KtlsConfig config, ByteBufAllocator alloc, Function<Byte, Object> response) {
        this(config, alloc, response, bootstrap -> { });
    }

    DownloadServer(KtlsConfig config, ByteBufAllocator alloc, Function<Byte, Object> response,
                   Consumer<ServerBootstrap> options) {
        this(config, alloc, response, options, () -> new ChannelHandler[0]);
    }

    /** {@code middle} makes, per channel, handlers to put between {@code KtlsHandler} and the responder. */
    DownloadServer(KtlsConfig config, ByteBufAllocator alloc, Function<Byte, Object> response,
                   Consumer<ServerBootstrap> options, Supplier<ChannelHandler[]> middle) {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOCATOR, alloc)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        acceptedChildren.incrementAndGet();
                        children.add(ch);
                        ch.closeFuture().addListener(f -> closedChildren.incrementAndGet());
                        ch.pipeline().addLast(new KtlsHandler(LoopbackTls.server(), config));
                        ch.pipeline().addLast(middle.get());
                        ch.pipeline().addLast(responder(response));
                    }
                });
        options.accept(bootstrap);
        serverChannel = bootstrap.bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    private ChannelHandler responder(Function<Byte, Object> response) {
        return new ChannelInboundHandlerAdapter() {
            private boolean answered;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    ByteBuf request = (ByteBuf) msg;
                    if (!answered && request.isReadable()) {
                        answered = true;
                        ChannelFuture write = ctx.writeAndFlush(response.apply(request.getByte(request.readerIndex())));
                        writes.add(write);
                        write.addListener(ChannelFutureListener.CLOSE);
                    }
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }

            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                writability.add(ctx.channel().isWritable());
                ctx.fireChannelWritabilityChanged();
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                exceptions.add(cause);
                ctx.close();
            }
        };
    }

    InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Waits until {@code count} accepted channels have closed. */
    boolean awaitClosedChildren(int count, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (closedChildren.get() < count) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        children.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        group.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }
}
