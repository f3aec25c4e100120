package io.ktls.examples.stream;

import io.ktls.examples.cli.UsageException;
import io.ktls.examples.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads N streams from a {@link StreamServer} and reports throughput and CPU cost:
 * {@code java -cp ktls-file-server.jar io.ktls.examples.stream.StreamClient [options]}.
 *
 * <p>Steps: ask the server for {@code STATS} (its pattern period, for {@code --verify}); open the streams;
 * read for {@code --warmup} seconds (JIT, TCP windows); take the first reading (bytes so far, this
 * process's CPU time, the server's through {@code STATS}); print progress each second until
 * {@code --duration} or {@code --bytes}; take the second reading; print the differences. MB and GB are
 * decimal (10^6, 10^9 bytes).
 *
 * <p>Exit status: 0 measured, 1 a stream failed or closed early, or a byte differed, 2 bad options.
 */
public final class StreamClient {

    private static final long STATS_TIMEOUT_MILLIS = 10_000;
    private static final long CONNECT_TIMEOUT_MILLIS = 10_000;
    private static final long POLL_MILLIS = 20;

    private StreamClient() {
    }

    /** The first failure any stream reports (event loops write, the main thread reads). */
    static final class Failures {
        private volatile String first;
        private volatile boolean firstTimedOut;

        void report(String message) {
            report(message, null);
        }

        /** {@code cause}: the exception behind the failure, if any (a timeout asks for a thread dump). */
        void report(String message, Throwable cause) {
            synchronized (this) {
                if (first == null) {
                    firstTimedOut = cause != null && ThreadDump.isTimeout(cause);
                    first = message;
                }
            }
        }

        String first() {
            return first;
        }

        /** Whether the first failure was a timeout; read after {@link #first()} returned it. */
        boolean timedOut() {
            return firstTimedOut;
        }
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    static int run(String... args) throws Exception {
        StreamClientOptions options;
        try {
            options = StreamClientOptions.parse(args);
        } catch (UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(StreamClientOptions.USAGE);
            return 2;
        }
        if (options.help) {
            System.out.println(StreamClientOptions.USAGE);
            return 0;
        }
        Transport transport;
        SslContext sslContext;
        try {
            transport = options.transport.resolve();
            sslContext = options.plain ? null : options.tls().newInsecureClientContext();
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        int eventLoops = Math.min(options.streams, Runtime.getRuntime().availableProcessors());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(eventLoops, transport.ioHandlerFactory());
        Bootstrap base = new Bootstrap().group(group).channel(transport.socketChannelClass())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT_MILLIS);
        List<Channel> channels = new ArrayList<>();
        try {
            Map<String, String> serverInfo = queryStats(base, sslContext, options);
            long verifyPeriod = -1;
            if (options.verify) {
                if (!"true".equals(serverInfo.get("pattern"))) {
                    System.err.println("error: --verify needs a server streaming its generated pattern "
                            + "(StreamServer without --file, or with --size)");
                    return 2;
                }
                verifyPeriod = Long.parseLong(serverInfo.get("period"));
            }

            Failures failures = new Failures();
            List<StreamClientHandler> streams = new ArrayList<>();
            for (int i = 0; i < options.streams; i++) {
                StreamClientHandler handler = new StreamClientHandler(verifyPeriod, failures);
                streams.add(handler);
                Channel ch = base.clone().handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (sslContext != null) {
                            ch.pipeline().addLast(sslContext.newHandler(ch.alloc(), options.host, options.port));
                        }
                        ch.pipeline().addLast(handler);
                    }
                }).connect(options.host, options.port).sync().channel();
                channels.add(ch);
            }

            String failure = sleep(options.warmupSeconds, streams, failures);
            if (failure != null) {
                return error(failure, failures.timedOut(), options);
            }
            long bytes0 = total(streams);
            long clientCpu0 = ProcessCpu.nanos();
            long serverCpu0 = Long.parseLong(queryStats(base, sslContext, options).get("cpuNanos"));
            long t0 = System.nanoTime();

            long deadline = t0 + (long) (options.durationSeconds * 1e9);
            long nextReport = t0 + TimeUnit.SECONDS.toNanos(1);
            long lastReportBytes = bytes0;
            long lastReportNanos = t0;
            while (true) {
                Thread.sleep(POLL_MILLIS);
                failure = check(streams, failures);
                if (failure != null) {
                    return error(failure, failures.timedOut(), options);
                }
                long now = System.nanoTime();
                long bytes = total(streams);
                if (now >= nextReport) {
                    System.err.printf(Locale.ROOT, "%6.1f s %10.1f MB/s%n", (now - t0) / 1e9,
                            (bytes - lastReportBytes) / 1e6 / ((now - lastReportNanos) / 1e9));
                    lastReportBytes = bytes;
                    lastReportNanos = now;
                    nextReport += TimeUnit.SECONDS.toNanos(1);
                }
                if (options.totalBytes > 0 ? bytes - bytes0 >= options.totalBytes : now >= deadline) {
                    break;
                }
            }
            long t1 = System.nanoTime();
            long bytes1 = total(streams);
            long clientCpu1 = ProcessCpu.nanos();
            long serverCpu1 = Long.parseLong(queryStats(base, sslContext, options).get("cpuNanos"));

            double seconds = (t1 - t0) / 1e9;
            long bytes = bytes1 - bytes0;
            double gigabytes = bytes / 1e9;
            StreamClientHandler first = streams.get(0);
            System.out.printf(Locale.ROOT,
                    "mode=%s streams=%d seconds=%.2f bytes=%d MBps=%.1f serverCpuSec=%.3f clientCpuSec=%.3f"
                            + " serverCpuSecPerGB=%.3f clientCpuSecPerGB=%.3f protocol=%s cipher=%s verified=%b%n",
                    serverInfo.get("mode"), options.streams, seconds, bytes, bytes / 1e6 / seconds,
                    (serverCpu1 - serverCpu0) / 1e9, (clientCpu1 - clientCpu0) / 1e9,
                    (serverCpu1 - serverCpu0) / 1e9 / gigabytes, (clientCpu1 - clientCpu0) / 1e9 / gigabytes,
                    first.protocol == null ? "none" : first.protocol,
                    first.cipherSuite == null ? "none" : first.cipherSuite, options.verify);
            return 0;
        } catch (ExecutionException | TimeoutException e) {
            return error("cannot read the server's STATS line: " + e, ThreadDump.isTimeout(e), options);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                throw e;
            }
            return error(String.valueOf(e), ThreadDump.isTimeout(e), options);
        } finally {
            for (Channel ch : channels) {
                ch.close();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        }
    }

    /**
     * Prints {@code error: message}; after a timeout, this process's thread dump too, to tell a client stuck
     * in its own event loop from a server that did not answer, then holds the connections open for
     * {@code --hold-on-timeout} seconds (the caller closes them).
     *
     * @return the exit status, 1
     */
    private static int error(String message, boolean timeout, StreamClientOptions options)
            throws InterruptedException {
        System.err.println("error: " + message);
        if (timeout) {
            System.err.print(ThreadDump.ofThisProcess());
            if (options.holdOnTimeoutSeconds > 0) {
                System.err.printf(Locale.ROOT, "holding the connections open for %.1f s%n",
                        options.holdOnTimeoutSeconds);
            }
            System.err.flush();
            Thread.sleep((long) (options.holdOnTimeoutSeconds * 1000));
        }
        return 1;
    }

    private static long total(List<StreamClientHandler> streams) {
        long sum = 0;
        for (StreamClientHandler s : streams) {
            sum += s.receivedBytes.get();
        }
        return sum;
    }

    private static String check(List<StreamClientHandler> streams, Failures failures) {
        if (failures.first() != null) {
            return failures.first();
        }
        for (StreamClientHandler s : streams) {
            if (s.closed) {
                return "a stream was closed by the server";
            }
        }
        return null;
    }

    private static String sleep(double seconds, List<StreamClientHandler> streams, Failures failures)
            throws InterruptedException {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            Thread.sleep(POLL_MILLIS);
            String failure = check(streams, failures);
            if (failure != null) {
                return failure;
            }
        }
        return null;
    }

    /** One {@code STATS} exchange on a connection of its own: {@code key=value} pairs of the answer. */
    static Map<String, String> queryStats(Bootstrap base, SslContext sslContext, StreamClientOptions options)
            throws InterruptedException, ExecutionException, TimeoutException {
        CompletableFuture<String> answer = new CompletableFuture<>();
        Channel ch = base.clone().handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (sslContext != null) {
                    ch.pipeline().addLast(sslContext.newHandler(ch.alloc(), options.host, options.port));
                }
                ch.pipeline().addLast(new LineBasedFrameDecoder(1024), new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) throws Exception {
                        if (sslContext == null) {
                            ask(ctx);
                        }
                        super.channelActive(ctx);
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof SslHandshakeCompletionEvent) {
                            if (((SslHandshakeCompletionEvent) evt).isSuccess()) {
                                ask(ctx);
                            } else {
                                answer.completeExceptionally(((SslHandshakeCompletionEvent) evt).cause());
                            }
                        }
                        ctx.fireUserEventTriggered(evt);
                    }

                    private void ask(ChannelHandlerContext ctx) {
                        ctx.writeAndFlush(Unpooled.copiedBuffer("STATS\n", StandardCharsets.US_ASCII));
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        try {
                            answer.complete(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
                        } finally {
                            ReferenceCountUtil.release(msg);
                        }
                        ctx.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        answer.completeExceptionally(new IllegalStateException("closed without an answer"));
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        answer.completeExceptionally(cause);
                        ctx.close();
                    }
                });
            }
        }).connect(options.host, options.port).sync().channel();
        try {
            Map<String, String> pairs = new HashMap<>();
            for (String pair : answer.get(STATS_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).trim().split(" ")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    pairs.put(pair.substring(0, eq), pair.substring(eq + 1));
                }
            }
            if (!pairs.containsKey("cpuNanos") || !pairs.containsKey("period")) {
                throw new ExecutionException(new IllegalStateException("not a STATS line: " + pairs));
            }
            return pairs;
        } finally {
            ch.close();
        }
    }
}
