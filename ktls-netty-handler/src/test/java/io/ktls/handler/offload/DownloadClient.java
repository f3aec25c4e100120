package io.ktls.handler.offload;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Loopback TLS clients on Netty's own {@code SslHandler} (BoringSSL): each connects, sends one request byte
 * after the handshake and reads the answer, hashing it, until the server closes or, for an aborted download,
 * until {@code abortAfterBytes} arrived.
 */
final class DownloadClient implements AutoCloseable {

    /** How one download ended. */
    static final class Result {
        final long bytes;
        final String sha256;
        final Throwable failure;

        Result(long bytes, String sha256, Throwable failure) {
            this.bytes = bytes;
            this.sha256 = sha256;
            this.failure = failure;
        }

        @Override
        public String toString() {
            return "Result(bytes: " + bytes + ", sha256: " + sha256 + ", failure: " + failure + ')';
        }
    }

    private final EventLoopGroup group;
    private final int receiveBufferBytes;

    DownloadClient(int threads) {
        this(threads, 0);
    }

    /** {@code receiveBufferBytes} sets {@code SO_RCVBUF} (0: the system's default, auto-tuned). */
    DownloadClient(int threads, int receiveBufferBytes) {
        this.group = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
        this.receiveBufferBytes = receiveBufferBytes;
    }

    /**
     * Downloads from {@code server}: the future completes when the connection closes. The client closes itself
     * after {@code closeAfterBytes} bytes (use {@code Long.MAX_VALUE} to read to the end).
     */
    CompletableFuture<Result> download(InetSocketAddress server, byte request, long closeAfterBytes) {
        return download(server, request, closeAfterBytes, Long.MAX_VALUE, null).result;
    }

    /**
     * Like {@link #download(InetSocketAddress, byte, long)}, but the client stops reading once
     * {@code pauseAfterBytes} arrived ({@link Download#paused} completes) until {@code resume} completes: a
     * stalled reader.
     */
    Download download(InetSocketAddress server, byte request, long closeAfterBytes, long pauseAfterBytes,
                      CompletableFuture<?> resume) {
        Download download = new Download();
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
        if (receiveBufferBytes > 0) {
            bootstrap.option(ChannelOption.SO_RCVBUF, receiveBufferBytes);
        }
        bootstrap.handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler ssl = LoopbackTls.client().newHandler(ch.alloc(), "localhost",
                                server.getPort());
                        ch.pipeline().addLast(ssl, new Reader(request, closeAfterBytes, pauseAfterBytes, resume,
                                download));
                    }
                })
                .connect(server)
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        download.result.completeExceptionally(f.cause());
                    }
                });
        return download;
    }

    /** A download in progress. */
    static final class Download {
        /** Completes when the connection closed. */
        final CompletableFuture<Result> result = new CompletableFuture<>();
        /** Completes with the bytes received so far when the client stopped reading. */
        final CompletableFuture<Long> paused = new CompletableFuture<>();
    }

    @Override
    public void close() {
        group.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    private static final class Reader extends ChannelInboundHandlerAdapter {
        private final byte request;
        private final long closeAfterBytes;
        private final long pauseAfterBytes;
        private final CompletableFuture<?> resume;
        private final Download download;
        private final MessageDigest sha256;
        private long bytes;
        private boolean paused;
        private Throwable failure;

        Reader(byte request, long closeAfterBytes, long pauseAfterBytes, CompletableFuture<?> resume,
               Download download) {
            this.request = request;
            this.closeAfterBytes = closeAfterBytes;
            this.pauseAfterBytes = pauseAfterBytes;
            this.resume = resume;
            this.download = download;
            try {
                this.sha256 = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent) {
                SslHandshakeCompletionEvent handshake = (SslHandshakeCompletionEvent) evt;
                if (handshake.isSuccess()) {
                    ByteBuf buf = ctx.alloc().buffer(1);
                    buf.writeByte(request);
                    ctx.writeAndFlush(buf);
                } else {
                    failure = handshake.cause();
                    ctx.close();
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                bytes += buf.readableBytes();
                sha256.update(buf.nioBuffer());
            } finally {
                buf.release();
            }
            if (bytes >= closeAfterBytes) {
                ctx.close();
            } else if (!paused && bytes >= pauseAfterBytes) {
                paused = true;
                ctx.channel().config().setAutoRead(false);
                download.paused.complete(bytes);
                resume.whenComplete((ignored, error) -> ctx.executor().execute(() -> {
                    ctx.channel().config().setAutoRead(true);
                    ctx.read();
                }));
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
            download.result.complete(new Result(bytes, HexFormat.of().formatHex(sha256.digest()), failure));
            ctx.fireChannelInactive();
        }
    }
}
