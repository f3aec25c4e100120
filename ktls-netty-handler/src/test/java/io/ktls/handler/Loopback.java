package io.ktls.handler;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A server (over NIO, or another transport) and NIO clients on 127.0.0.1, for end-to-end tests. */
final class Loopback implements AutoCloseable {

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    /** The server's loops: {@link #group} unless the server has a transport of its own. */
    private final EventLoopGroup serverGroup;
    private final Class<? extends ServerChannel> serverChannel;
    private Channel server;

    Loopback() {
        serverGroup = group;
        serverChannel = NioServerSocketChannel.class;
    }

    /** A server on its own loop of {@code transport} (epoll, say), with NIO clients. */
    Loopback(IoHandlerFactory transport, Class<? extends ServerChannel> serverChannel) {
        this.serverGroup = new MultiThreadIoEventLoopGroup(1, transport);
        this.serverChannel = serverChannel;
    }

    /** Starts the server; {@code pipeline} fills each accepted channel's pipeline. */
    Loopback serve(Consumer<SocketChannel> pipeline) throws InterruptedException {
        server = new ServerBootstrap().group(serverGroup).channel(serverChannel)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        pipeline.accept(ch);
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        return this;
    }

    Channel connect(Consumer<SocketChannel> pipeline) throws InterruptedException {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        pipeline.accept(ch);
                    }
                })
                .connect(server.localAddress()).sync().channel();
    }

    /**
     * Connects a TLS client: {@code clientContext}'s handler for {@code localhost}, then {@code handlers}; returns
     * once the handshake has succeeded, and throws its failure otherwise.
     */
    Channel connectTls(SslContext clientContext, ChannelHandler... handlers) throws InterruptedException {
        Channel client = connect(ch -> {
            ch.pipeline().addLast(clientContext.newHandler(ch.alloc(), "localhost", port()));
            ch.pipeline().addLast(handlers);
        });
        client.pipeline().get(SslHandler.class).handshakeFuture().sync();
        return client;
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() throws InterruptedException {
        if (server != null) {
            server.close().sync();
        }
        group.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).sync();
        if (serverGroup != group) {
            serverGroup.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).sync();
        }
    }

    static ChannelHandler[] handlers(ChannelHandler... handlers) {
        return handlers;
    }
}
