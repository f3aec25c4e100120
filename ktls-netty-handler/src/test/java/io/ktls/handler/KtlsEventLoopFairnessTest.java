package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stream sealed on the event loop must let the loop poll its sockets: other connections on the same loop (a
 * new client's handshake, a request) wait at most for the records of one turn, not for the whole stream.
 *
 * <p>Over loopback a socket write usually completes at once, inside the transport's write loop; framing and
 * sealing the next records from that completion kept the loop inside one flush task after another (Netty runs 64
 * tasks before it looks at the clock), and a new connection on that loop went unanswered for seconds.
 */
class KtlsEventLoopFairnessTest {

    private static final int WRITE_BYTES = 1 << 20;
    private static final int WRITES = 24;

    @Test
    void anInlineStreamSealsAtMostTwoWindowsOfRecordsBetweenTwoPollsOfTheSockets() throws Exception {
        PollCountingIoHandlerFactory polls = new PollCountingIoHandlerFactory(NioIoHandler.newFactory());
        EventLoopGroup serverLoop = new MultiThreadIoEventLoopGroup(1, polls);
        EventLoopGroup clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        SealsPerPoll seals = new SealsPerPoll(polls);
        KtlsConfig config = KtlsConfig.builder().sealerFactory((sealing, completion, channel) ->
                seals.wrap(new InlineRecordSealer(sealing, completion))).build();
        CompletableFuture<Void> streamed = new CompletableFuture<>();
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> allReceived = new CompletableFuture<>();
        try {
            Channel server = new ServerBootstrap().group(serverLoop).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            KtlsHandler tls = new KtlsHandler(serverContext, config);
                            ch.pipeline().addLast(tls, new Streamer(streamed));
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            Channel client = new Bootstrap().group(clientLoop).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(clientContext.newHandler(ch.alloc(), "localhost", 0),
                                    new ChannelInboundHandlerAdapter() {
                                        @Override
                                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                            long total = received.addAndGet(((ByteBuf) msg).readableBytes());
                                            ReferenceCountUtil.release(msg);
                                            if (total == (long) WRITES * WRITE_BYTES) {
                                                allReceived.complete(null);
                                            }
                                        }
                                    });
                        }
                    })
                    .connect(server.localAddress()).sync().channel();

            streamed.get(60, TimeUnit.SECONDS);
            allReceived.get(60, TimeUnit.SECONDS);
            client.close().sync();
            server.close().sync();

            int recordsPerWrite = WRITE_BYTES / config.maxRecordPayloadBytes();
            assertTrue(seals.total() >= (long) WRITES * recordsPerWrite, "records sealed: " + seals.total());
            assertTrue(seals.maxBetweenPolls() <= 2 * config.maxRecordsInFlight(),
                    "records sealed between two polls of the event loop's sockets: " + seals.maxBetweenPolls()
                            + " (of " + seals.total() + " in " + polls.polls() + " polls; expected at most "
                            + 2 * config.maxRecordsInFlight() + ": one window framed by a turn, one from the"
                            + " write completions inside it)");
        } finally {
            clientLoop.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
            serverLoop.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
            ReferenceCountUtil.release(serverContext);
            ReferenceCountUtil.release(clientContext);
        }
        assertEquals((long) WRITES * WRITE_BYTES, received.get());
    }

    /** Once the handshake is done: {@link #WRITES} writes of 1 MiB, each written when the previous completes. */
    private static final class Streamer extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Void> done;
        private int written;

        Streamer(CompletableFuture<Void> done) {
            this.done = done;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SslHandshakeCompletionEvent && ((SslHandshakeCompletionEvent) evt).isSuccess()) {
                writeNext(ctx);
            }
            super.userEventTriggered(ctx, evt);
        }

        private void writeNext(ChannelHandlerContext ctx) {
            if (written == WRITES) {
                done.complete(null);
                return;
            }
            written++;
            ByteBuf chunk = ctx.alloc().buffer(WRITE_BYTES);
            chunk.writeZero(WRITE_BYTES);
            ctx.writeAndFlush(chunk).addListener((ChannelFuture f) -> {
                if (f.isSuccess()) {
                    writeNext(ctx);
                } else {
                    done.completeExceptionally(f.cause());
                }
            });
        }
    }

    /**
     * Counts the records sealed since the event loop last polled its sockets. Event loop only (the sealer and the
     * I/O handler both run there); the results are volatile for the test thread, which reads them after the loop
     * has stopped sealing.
     */
    private static final class SealsPerPoll {
        private final PollCountingIoHandlerFactory polls;
        private long pollSeen = -1;
        private int sinceThatPoll;
        private volatile int max;
        private volatile long total;

        SealsPerPoll(PollCountingIoHandlerFactory polls) {
            this.polls = polls;
        }

        RecordSealer wrap(RecordSealer inner) {
            return new RecordSealer() {
                @Override
                public void submit(OutboundRecord record) {
                    long poll = polls.polls();
                    if (poll != pollSeen) {
                        pollSeen = poll;
                        sinceThatPoll = 0;
                    }
                    sinceThatPoll++;
                    if (sinceThatPoll > max) {
                        max = sinceThatPoll;
                    }
                    total = total + 1;
                    inner.submit(record);
                }

                @Override
                public void dispatch() {
                    inner.dispatch();
                }

                @Override
                public void close() {
                    inner.close();
                }
            };
        }

        int maxBetweenPolls() {
            return max;
        }

        long total() {
            return total;
        }
    }

    /** Wraps the loop's I/O handler to count its runs: each run polls the sockets and handles what is ready. */
    private static final class PollCountingIoHandlerFactory implements IoHandlerFactory {
        private final IoHandlerFactory inner;
        private volatile long polls;

        PollCountingIoHandlerFactory(IoHandlerFactory inner) {
            this.inner = inner;
        }

        long polls() {
            return polls;
        }

        @Override
        public IoHandler newHandler(io.netty.util.concurrent.ThreadAwareExecutor executor) {
            IoHandler handler = inner.newHandler(executor);
            return new IoHandler() {
                @Override
                public void initialize() {
                    handler.initialize();
                }

                @Override
                public int run(IoHandlerContext context) {
                    polls = polls + 1; // written by the one event loop thread only
                    return handler.run(context);
                }

                @Override
                public void prepareToDestroy() {
                    handler.prepareToDestroy();
                }

                @Override
                public void destroy() {
                    handler.destroy();
                }

                @Override
                public IoRegistration register(IoHandle handle) throws Exception {
                    return handler.register(handle);
                }

                @Override
                public void wakeup() {
                    handler.wakeup();
                }

                @Override
                public boolean isCompatible(Class<? extends IoHandle> handleType) {
                    return handler.isCompatible(handleType);
                }
            };
        }
    }
}
