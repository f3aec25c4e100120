package io.ktls.handler.internal.kernel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.UnixChannel;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@link ControlRecordSenderForeignCallTest} in a JDK 22+ child JVM. Mode {@code send}: real sendmsg calls
 * on a connected epoll TCP pair (a plain TCP socket skips control messages whose level is not SOL_SOCKET, after
 * checking that they are well formed, so the payload must arrive unchanged), then the errno paths. Mode
 * {@code denied}: started with native access denied, the sender must be absent with a reason. Exit 0 and a line
 * starting with {@code OK} on success; exit 1 and a line starting with {@code FAIL} otherwise.
 */
public final class ControlRecordSenderMain {
    private static final byte ALERT = 21;
    private static final int EBADF = 9;
    private static final int EAGAIN = 11;

    private ControlRecordSenderMain() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length == 1 ? args[0] : "";
        try {
            switch (mode) {
                case "send" -> send();
                case "denied" -> denied();
                default -> throw new AssertionError("usage: ControlRecordSenderMain send|denied, got " + Arrays.toString(args));
            }
        } catch (AssertionError e) {
            System.out.println("FAIL " + e.getMessage());
            System.out.flush();
            System.exit(1);
        }
        System.out.flush();
        System.exit(0);
    }

    private static void denied() {
        ControlRecordSender sender = ControlRecordSender.get();
        String reason = ControlRecordSender.unavailableReason();
        check(sender == null, "native access denied, yet get() returned a sender");
        check(reason != null, "get() is null but unavailableReason() is null too");
        System.out.println("unavailable: " + reason);
        System.out.println("OK denied on JDK " + System.getProperty("java.version"));
    }

    private static void send() throws Exception {
        ControlRecordSender sender = ControlRecordSender.get();
        check(sender != null, "no sender on JDK " + System.getProperty("java.version") + ": "
                              + ControlRecordSender.unavailableReason());
        check(Epoll.isAvailable(), "epoll unavailable: " + Epoll.unavailabilityCause());

        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
            CompletableFuture<Channel> accepted = new CompletableFuture<>();
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.complete(ch);
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ByteBuf buf = (ByteBuf) msg;
                                    try {
                                        received.add(ByteBufUtil.getBytes(buf));
                                    } finally {
                                        buf.release();
                                    }
                                }
                            });
                        }
                    })
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
            Channel client = new Bootstrap()
                    .group(group)
                    .channel(EpollSocketChannel.class)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(server.localAddress()).sync().channel();
            Channel serverChild = accepted.get(5, TimeUnit.SECONDS);
            int fd = ((UnixChannel) client).fd().intValue();

            // [1, 0] from the middle of a larger array: the offset must be honoured.
            byte[] source = {9, 1, 0, 9};
            int sent = sender.send(fd, ALERT, source, 1, 2);
            check(sent == 2, "send(fd " + fd + ", alert, [1, 0]) returned " + sent + " (expected: 2)");
            byte[] arrived = readExactly(received, 2);
            check(Arrays.equals(arrived, new byte[] {1, 0}),
                  "the peer read " + Arrays.toString(arrived) + " (expected: [1, 0])");
            byte[] extra = received.poll(200, TimeUnit.MILLISECONDS);
            check(extra == null, "the peer read more than was sent: " + Arrays.toString(extra));
            System.out.println("sent " + sent + " bytes with record type " + ALERT + " on fd " + fd
                               + ", peer read " + Arrays.toString(arrived));

            int invalid = sender.send(-1, ALERT, source, 1, 2);
            check(invalid == -EBADF, "send(fd -1) returned " + invalid + " (expected: " + -EBADF + ")");
            System.out.println("fd -1: " + invalid);

            // MSG_DONTWAIT: once the peer stops reading and the buffers fill, the answer is -EAGAIN, not a block.
            serverChild.eventLoop().submit(() -> serverChild.config().setAutoRead(false)).sync();
            byte[] chunk = new byte[64 * 1024];
            long total = 0;
            int result;
            do {
                result = sender.send(fd, (byte) 23, chunk, 0, chunk.length);
                if (result > 0) {
                    total += result;
                }
                check(total < 512L * 1024 * 1024, "512 MiB sent without EAGAIN");
            } while (result >= 0);
            check(result == -EAGAIN, "filling the send buffer ended with " + result + " (expected: " + -EAGAIN + ")");
            System.out.println("full send buffer after " + total + " bytes: " + result);

            client.close().sync();
            int closed = sender.send(fd, ALERT, source, 1, 2);
            check(closed == -EBADF, "send on closed fd " + fd + " returned " + closed + " (expected: " + -EBADF + ")");
            System.out.println("closed fd " + fd + ": " + closed);
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
        System.out.println("OK send on JDK " + System.getProperty("java.version"));
    }

    private static byte[] readExactly(BlockingQueue<byte[]> received, int bytes) throws InterruptedException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (out.size() < bytes) {
            byte[] next = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            check(next != null, "the peer read only " + out.size() + " of " + bytes + " bytes in 5 s");
            out.write(next, 0, next.length);
        }
        return out.toByteArray();
    }

    private static void check(boolean condition, String failure) {
        if (!condition) {
            throw new AssertionError(failure);
        }
    }
}
