package io.ktls.allocator;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Promise;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real client and server on loopback, both with the page-run allocator as {@code ChannelOption.ALLOCATOR}: the
 * client writes 256 MiB of a position-dependent pattern in 64 KiB buffers, the server checks every byte as it
 * arrives. At the end everything the two pipelines allocated has been released.
 */
@Tag("stress")
class LoopbackTransferTest {
    private static final long TOTAL_BYTES = 256L << 20;
    private static final int CHUNK_BYTES = 64 << 10;

    enum Transport {
        NIO(NioIoHandler::newFactory, NioServerSocketChannel.class, NioSocketChannel.class),
        EPOLL(EpollIoHandler::newFactory, EpollServerSocketChannel.class, EpollSocketChannel.class);

        final Supplier<IoHandlerFactory> ioHandler;
        final Class<? extends ServerChannel> serverChannel;
        final Class<? extends Channel> channel;

        Transport(Supplier<IoHandlerFactory> ioHandler, Class<? extends ServerChannel> serverChannel,
                  Class<? extends Channel> channel) {
            this.ioHandler = ioHandler;
            this.serverChannel = serverChannel;
            this.channel = channel;
        }
    }

    /** The byte at stream position {@code p}: varies within and across chunks, so a lost or reordered chunk shows. */
    private static byte pattern(long p) {
        return (byte) (p * 31 + (p >>> 16) * 7);
    }

    private static void fill(byte[] block, long position) {
        for (int i = 0; i < block.length; i++) {
            block[i] = pattern(position + i);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    @Timeout(30)
    void movesQuarterGigabyteIntactAndReleasesEveryBuffer(Transport transport) throws Exception {
        if (transport == Transport.EPOLL) {
            Assumptions.assumeTrue(Epoll.isAvailable(), "epoll not available: " + Epoll.unavailabilityCause());
        }
        PageRunAllocator allocator = PageRunAllocator.builder().name("loopback-" + transport).build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, transport.ioHandler.get());
        try {
            Promise<Long> received = group.next().newPromise();
            Channel server = new ServerBootstrap().group(group).channel(transport.serverChannel)
                    .option(ChannelOption.ALLOCATOR, allocator)
                    .childOption(ChannelOption.ALLOCATOR, allocator)
                    .childHandler(new Verifier(received))
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Channel client = new Bootstrap().group(group).channel(transport.channel)
                    .option(ChannelOption.ALLOCATOR, allocator)
                    .handler(new Writer())
                    .connect(server.localAddress()).sync().channel();

            assertEquals(TOTAL_BYTES, received.get(25, TimeUnit.SECONDS));
            client.closeFuture().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(100, 1000, TimeUnit.MILLISECONDS).sync();
        }
        PageRunAllocatorMetric metric = allocator.metric();
        try {
            assertTrue(metric.cacheHitAllocations() + metric.arenaAllocations() > TOTAL_BYTES / CHUNK_BYTES,
                    metric.toString());
            assertEquals(0, metric.inFlightRuns(), metric.toString());
            assertEquals(0, metric.inFlightBytes(), metric.toString());
        } finally {
            allocator.close();
        }
    }

    /** Writes the pattern while the channel is writable, then closes once the server is done. */
    private static final class Writer extends ChannelInboundHandlerAdapter {
        private final byte[] block = new byte[CHUNK_BYTES];
        private long sent;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            writeMore(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            writeMore(ctx);
        }

        private void writeMore(ChannelHandlerContext ctx) {
            while (ctx.channel().isWritable() && sent < TOTAL_BYTES) {
                fill(block, sent);
                ByteBuf chunk = ctx.alloc().directBuffer(CHUNK_BYTES);
                chunk.writeBytes(block);
                // Counted before write(): write() may turn the channel unwritable and re-enter this method.
                sent += CHUNK_BYTES;
                ctx.write(chunk);
            }
            ctx.flush();
        }
    }

    /** Checks each received byte against the pattern; fulfils the promise with the count at the end. */
    private static final class Verifier extends ChannelInboundHandlerAdapter {
        private final Promise<Long> received;
        private final byte[] expected = new byte[CHUNK_BYTES];
        private final byte[] actual = new byte[CHUNK_BYTES];
        private long position;

        Verifier(Promise<Long> received) {
            this.received = received;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                while (buf.isReadable()) {
                    int n = Math.min(buf.readableBytes(), CHUNK_BYTES);
                    buf.readBytes(actual, 0, n);
                    fill(expected, position);
                    int mismatch = Arrays.mismatch(actual, 0, n, expected, 0, n);
                    if (mismatch >= 0) {
                        received.tryFailure(new AssertionError("byte " + (position + mismatch) + ": got "
                                + actual[mismatch] + ", expected " + expected[mismatch]));
                        ctx.close();
                        return;
                    }
                    position += n;
                }
            } finally {
                buf.release();
            }
            if (position == TOTAL_BYTES) {
                received.trySuccess(position);
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            received.tryFailure(cause);
            ctx.close();
        }
    }
}
