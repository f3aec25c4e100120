package io.ktls.micrometer;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsHandler;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link KtlsHandler} echo server on 127.0.0.1 and Netty {@link SslHandler} clients for it (TLS 1.3,
 * TLS_AES_128_GCM_SHA256, a self-signed ECDSA certificate made at test time): the record layer's meters are
 * checked against a real exchange.
 */
final class TlsEchoLoopback implements AutoCloseable {

    private static final X509Bundle CERTIFICATE = selfSigned();

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Channel server;
    private final SslContext clientContext;

    TlsEchoLoopback(KtlsConfig config) throws Exception {
        SslContext serverContext = SslContextBuilder.forServer(CERTIFICATE.getKeyPair().getPrivate(),
                        CERTIFICATE.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3").build();
        clientContext = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3")
                .ciphers(java.util.List.of("TLS_AES_128_GCM_SHA256"))
                .trustManager(CERTIFICATE.getCertificate()).build();
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new KtlsHandler(serverContext, config), new Echo());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    /** A client connected and past its handshake; {@link Client#echo} sends bytes and waits for them back. */
    Client connect() throws Exception {
        Client client = new Client();
        client.channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(clientContext.newHandler(ch.alloc(), "localhost", port()), client);
                    }
                })
                .connect(server.localAddress()).sync().channel();
        client.channel.pipeline().get(SslHandler.class).handshakeFuture().sync();
        return client;
    }

    private int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    private static X509Bundle selfSigned() {
        Instant now = Instant.now();
        try {
            return new CertificateBuilder().subject("CN=localhost").addSanDnsName("localhost")
                    .notBefore(now.minus(1, ChronoUnit.DAYS)).notAfter(now.plus(2, ChronoUnit.DAYS))
                    .ecp256().setIsCertificateAuthority(true).buildSelfSigned();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }

        /** A test may break a connection on purpose (a corrupt record): the meters, not the log, tell. */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** The client side: collects what the server echoes. Its channel's event loop owns {@code received}. */
    static final class Client extends ChannelInboundHandlerAdapter {
        private Channel channel;
        private long expected;
        private long received;
        private CompletableFuture<Void> done;

        /** Sends {@code bytes} bytes of plaintext and waits until as many have come back. */
        void echo(int bytes) throws Exception {
            CompletableFuture<Void> echoed = new CompletableFuture<>();
            channel.eventLoop().submit(() -> {
                expected = received + bytes;
                done = echoed;
            }).sync();
            channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[bytes])).sync();
            echoed.get(10, TimeUnit.SECONDS);
        }

        /** Sends bytes past the client's TLS layer: the server reads them as a record. */
        void sendRaw(byte[] bytes) throws InterruptedException {
            channel.pipeline().firstContext().writeAndFlush(Unpooled.wrappedBuffer(bytes)).sync();
        }

        Channel channel() {
            return channel;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            received += buf.readableBytes();
            buf.release();
            if (done != null && received >= expected) {
                done.complete(null);
                done = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
