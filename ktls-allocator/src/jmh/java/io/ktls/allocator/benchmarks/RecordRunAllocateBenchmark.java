package io.ktls.allocator.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * Workload: one thread allocates a 16 KiB direct buffer (one TLS record payload, a 4-page run) and releases it
 * at once, over and over: the cost of the hot path of a record sealer, cache to cache.
 *
 * <p>A good result: a page-run allocation plus release in at most half the time of Netty's
 * {@code AdaptiveByteBufAllocator} (the 4.2 default; the figures are in docs/benchmarks.md);
 * {@code PooledByteBufAllocator} and {@code Unpooled} are listed for scale. Leak detection is disabled for all
 * allocators alike.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx1g", "-XX:MaxDirectMemorySize=2g"})
public class RecordRunAllocateBenchmark {
    @Param({"PAGE_RUN", "ADAPTIVE", "ADAPTIVE_DEFAULT", "POOLED", "UNPOOLED"})
    public AllocatorUnderTest allocator;

    private ByteBufAllocator alloc;

    @Setup(Level.Trial)
    public void setUp() {
        alloc = allocator.create();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        AllocatorUnderTest.close(alloc);
    }

    @Benchmark
    public boolean allocateAndRelease16KiB() {
        ByteBuf buf = alloc.directBuffer(16384);
        return buf.release();
    }
}
