package io.ktls.allocator.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Workload: what a TLS file server asks of its allocator, one event loop's worth. Each operation reads 64 KiB of
 * file (a 64 KiB {@code ioBuffer}), frames it as four TLS records of 16 KiB + 29 bytes (header, explicit nonce
 * and tag around the payload), each preceded by a ~200 byte header buffer (an HTTP chunk header or record
 * header); the new buffers replace the oldest of {@value #IN_FLIGHT} buffers still queued for the socket, which
 * are released. Buffers are touched (a few bytes written) but not filled, so the figure is allocator cost.
 *
 * <p>Score: operations per second (9 allocations and 9 releases each), and {@code retainedBytes}: direct memory
 * the allocator holds at the end of the iteration by its own metric ({@code usedDirectMemory}). Good: no slower
 * than Netty's {@code AdaptiveByteBufAllocator}, with less retained memory. Pooled and Unpooled for scale. JMH
 * sums the {@code EVENTS} counter over the measurement iterations: divide by the iteration count.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx1g", "-XX:MaxDirectMemorySize=2g"})
public class FileServerMixBenchmark {
    /** Buffers queued for the socket: about 1 MiB of records, a busy connection's send buffer. */
    static final int IN_FLIGHT = 64;
    static final int RECORD_BYTES = 16384 + 29;
    static final int HEADER_BYTES = 200;
    static final int READ_BYTES = 65536;

    @Param({"PAGE_RUN", "ADAPTIVE", "POOLED", "UNPOOLED"})
    public AllocatorUnderTest allocator;

    private ByteBufAllocator alloc;
    private final ByteBuf[] queued = new ByteBuf[IN_FLIGHT];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        alloc = allocator.create();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (int i = 0; i < queued.length; i++) {
            if (queued[i] != null) {
                queued[i].release();
                queued[i] = null;
            }
        }
        AllocatorUnderTest.close(alloc);
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Retained {
        public long retainedBytes;
        int sample;
    }

    private void enqueue(ByteBuf buf) {
        ByteBuf old = queued[next];
        if (old != null) {
            old.release();
        }
        queued[next] = buf;
        next = (next + 1) % IN_FLIGHT;
    }

    @Benchmark
    public void readAndFrame(Retained retained) {
        ByteBuf read = alloc.ioBuffer(READ_BYTES);
        read.setLong(0, 1).writerIndex(READ_BYTES);
        for (int r = 0; r < 4; r++) {
            ByteBuf header = alloc.directBuffer(HEADER_BYTES);
            header.writeLong(r);
            enqueue(header);
            ByteBuf record = alloc.directBuffer(RECORD_BYTES);
            record.setLong(RECORD_BYTES - 8, r).writerIndex(RECORD_BYTES);
            enqueue(record);
        }
        read.release();
        if ((++retained.sample & 255) == 0) {
            retained.retainedBytes = AllocatorUnderTest.retainedBytes(alloc);
        }
    }
}
