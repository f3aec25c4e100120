package io.ktls.allocator.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Control;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Workload: a producer thread allocates 16 KiB direct buffers and hands them to a consumer thread in batches of
 * 64 (as an event loop hands records to an offload worker, or a worker hands sealed records back); the consumer
 * releases them. Every buffer is freed on a thread other than the one that allocated it, so this measures the
 * way home: return rings here, MPSC queues in Netty's pooled allocator, shared magazines in the adaptive one.
 * Batches keep the hand-off queue itself out of the measurement (one buffer at a time made the queue's own swings
 * the result; see docs/allocator.md).
 *
 * <p>Score: buffers per second (each method's figure; the consumer's is the hand-off rate). Good: at least twice
 * Netty's {@code AdaptiveByteBufAllocator} (figures in docs/benchmarks.md), with retained memory
 * ({@code retainedBytes}, the allocator's own {@code usedDirectMemory} at the end of each iteration) near what
 * is in flight (up to six batches, 6 MiB) plus the configured cache bound (1 MiB per thread by default for the
 * page-run allocator, whose {@code cachedBytes} is reported too). JMH sums these {@code EVENTS} counters over the measurement iterations:
 * divide by the iteration count.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx1g", "-XX:MaxDirectMemorySize=2g"})
@State(Scope.Group)
public class HandoffBenchmark {
    static final int BATCH = 64;
    /**
     * Batch arrays circulating between the threads (so at most this many batches are in flight): enough to keep
     * both busy, few enough to bound memory.
     */
    static final int BATCHES = 6;

    @Param({"PAGE_RUN", "ADAPTIVE", "POOLED", "UNPOOLED"})
    public AllocatorUnderTest allocator;

    private ByteBufAllocator alloc;
    // Lock-free queues, and yield() rather than a busy spin while waiting: a lock here (ArrayBlockingQueue) made
    // the threads park and unpark each other, and a spinning thread on a shared two-core machine holds the core
    // its partner needs; both measured the scheduler rather than the allocator.
    private Queue<ByteBuf[]> full;
    private Queue<ByteBuf[]> empty;

    @Setup(Level.Trial)
    public void setUp() {
        alloc = allocator.create();
        full = new ConcurrentLinkedQueue<>();
        empty = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < BATCHES; i++) {
            empty.add(new ByteBuf[BATCH]);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ByteBuf[] batch;
        while ((batch = full.poll()) != null) {
            for (ByteBuf buf : batch) {
                buf.release();
            }
        }
        AllocatorUnderTest.close(alloc);
    }

    /** Memory the allocator retains, sampled by the producer. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Retained {
        public long retainedBytes;
        /** Page-run allocator only: bytes in thread caches and return rings, to compare with the cache bound. */
        public long cachedBytes;
        int sample;
    }

    @Benchmark
    @Group("handoff")
    @GroupThreads(1)
    @OperationsPerInvocation(BATCH)
    public void produce(Control control, Retained retained) {
        ByteBuf[] batch;
        while ((batch = empty.poll()) == null) {
            if (control.stopMeasurement) {
                return;
            }
            Thread.yield();
        }
        for (int i = 0; i < BATCH; i++) {
            batch[i] = alloc.directBuffer(16384);
        }
        full.offer(batch);
        if ((++retained.sample & 63) == 0) {
            retained.retainedBytes = AllocatorUnderTest.retainedBytes(alloc);
            retained.cachedBytes = AllocatorUnderTest.cachedBytes(alloc);
        }
    }

    @Benchmark
    @Group("handoff")
    @GroupThreads(1)
    @OperationsPerInvocation(BATCH)
    public void consume(Control control) {
        ByteBuf[] batch;
        while ((batch = full.poll()) == null) {
            if (control.stopMeasurement) {
                return;
            }
            Thread.yield();
        }
        for (int i = 0; i < BATCH; i++) {
            batch[i].release();
            batch[i] = null;
        }
        empty.offer(batch);
    }
}
