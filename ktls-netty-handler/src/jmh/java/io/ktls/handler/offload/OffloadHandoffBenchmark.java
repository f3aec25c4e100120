package io.ktls.handler.offload;

import io.ktls.handler.KtlsOffloadGroup;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.DefaultEventExecutor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Cost of handing a task from an event loop to an offload worker, the step every offloaded record pays twice
 * (out to the worker, and back with {@code execute}).
 *
 * <p>Workload: {@code roundTrip} submits one task and spins until the worker has run it (an idle worker must
 * be woken: park/unpark latency dominates); {@code burst} submits 64 tasks and waits for the last (a busy
 * worker drains its queue without parking: the per-task queue cost dominates). The baselines are the same
 * hand-off to Netty's {@code DefaultEventExecutor} (a {@code LinkedBlockingQueue} and a single thread) and
 * to a JDK single-thread {@code ThreadPoolExecutor}. A good result: round trip no slower than the baselines
 * (a few microseconds, wake-up bound), burst well under 100 ns a task, i.e. negligible next to sealing a
 * 16 KiB record (about 4 us at 4 GB/s).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class OffloadHandoffBenchmark {

    private static final int BURST = 64;

    @Param({"ktls", "netty", "jdk"})
    public String executor;

    private KtlsOffloadGroup group;
    private DefaultEventExecutor nettyExecutor;
    private ExecutorService jdkExecutor;
    private EmbeddedChannel channel;
    private Executor worker;

    private final AtomicLong done = new AtomicLong();
    private final Runnable task = done::incrementAndGet;

    @Setup(Level.Trial)
    public void setUp() {
        channel = new EmbeddedChannel(DefaultChannelId.newInstance());
        switch (executor) {
            case "ktls":
                group = new KtlsOffloadGroup(1);
                worker = group.workerFor(channel);
                break;
            case "netty":
                nettyExecutor = new DefaultEventExecutor();
                worker = nettyExecutor;
                break;
            case "jdk":
                jdkExecutor = Executors.newSingleThreadExecutor();
                worker = jdkExecutor;
                break;
            default:
                throw new IllegalArgumentException("executor: " + executor + " (expected: ktls, netty or jdk)");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        if (group != null) {
            group.close();
        }
        if (nettyExecutor != null) {
            nettyExecutor.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (jdkExecutor != null) {
            jdkExecutor.shutdown();
            jdkExecutor.awaitTermination(5, TimeUnit.SECONDS);
        }
        channel.close();
    }

    @Benchmark
    public long roundTrip() {
        long target = done.get() + 1;
        worker.execute(task);
        while (done.get() < target) {
            Thread.onSpinWait();
        }
        return target;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public long burst() {
        long target = done.get() + BURST;
        for (int i = 0; i < BURST; i++) {
            worker.execute(task);
        }
        while (done.get() < target) {
            Thread.onSpinWait();
        }
        return target;
    }
}
