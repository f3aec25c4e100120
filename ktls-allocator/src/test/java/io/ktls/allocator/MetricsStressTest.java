package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Four threads allocate mixed sizes for two seconds, keep some, hand some to the next thread and release the
 * rest, while a fifth thread reads the metrics. Every count the test keeps must match the allocator's exactly at
 * the end, and live readings must never show more releases than allocations.
 */
@Tag("stress")
class MetricsStressTest {
    private static final int THREADS = 4;
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** Sizes: fragments, record runs, the largest cached run, an uncached run, a huge buffer. */
    private static final int[] SIZES = {40, 200, 1500, 4096, 16384, 16384 + 29, 65536, 200_000, 300_000};

    @Test
    @Timeout(60)
    void countersStayConsistentUnderConcurrentAllocationAndCrossThreadRelease() throws Exception {
        PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(2).maxCachedBytesPerThread(256 << 10)
                .compositeFallback(true)
                .maxMemoryBytes(64 << 20).reclaimIntervalNanos(TimeUnit.MILLISECONDS.toNanos(50)).build();
        try {
            List<BlockingQueue<ByteBuf>> inboxes = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                inboxes.add(new ArrayBlockingQueue<>(256));
            }
            AtomicLong allocations = new AtomicLong();
            AtomicLong releases = new AtomicLong();
            AtomicLong hugeAllocations = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(THREADS);
            long deadline = System.nanoTime() + RUN_NANOS;
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                Thread worker = new Thread(() -> {
                    SplittableRandom random = new SplittableRandom(id);
                    List<ByteBuf> kept = new ArrayList<>();
                    BlockingQueue<ByteBuf> inbox = inboxes.get(id);
                    BlockingQueue<ByteBuf> next = inboxes.get((id + 1) % THREADS);
                    try {
                        while (System.nanoTime() < deadline) {
                            int size = SIZES[random.nextInt(SIZES.length)];
                            ByteBuf buf = random.nextInt(8) == 0 ? allocator.ioBuffer(size) : allocator.directBuffer(size);
                            allocations.incrementAndGet();
                            if (size > 64 * 4096) {
                                hugeAllocations.incrementAndGet();
                            }
                            buf.writeInt(id).writerIndex(Math.min(size, buf.capacity()));
                            int action = random.nextInt(3);
                            if (action == 0 || !next.offer(buf)) {
                                kept.add(buf);
                            }
                            if (kept.size() > 32 || action == 2) {
                                while (!kept.isEmpty()) {
                                    ByteBuf b = kept.remove(kept.size() - 1);
                                    assertEquals(b.getInt(0), b.getInt(0)); // touch
                                    b.release();
                                    releases.incrementAndGet();
                                }
                            }
                            ByteBuf received;
                            while ((received = inbox.poll()) != null) {
                                assertTrue(received.getInt(0) >= 0 && received.getInt(0) < THREADS);
                                received.release();
                                releases.incrementAndGet();
                            }
                        }
                        for (ByteBuf b : kept) {
                            b.release();
                            releases.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        done.countDown();
                    }
                }, "stress-" + t);
                worker.start();
            }
            long readings = 0;
            while (done.getCount() > 0) {
                long inFlight = allocator.metric().inFlightRuns();
                assertTrue(inFlight >= 0, "in flight " + inFlight);
                assertTrue(allocator.metric().reservedBytes() <= 64 << 20);
                readings++;
                Thread.sleep(1);
            }
            assertNull(failure.get());
            for (BlockingQueue<ByteBuf> inbox : inboxes) {
                ByteBuf b;
                while ((b = inbox.poll()) != null) {
                    b.release();
                    releases.incrementAndGet();
                }
            }
            PageRunAllocatorMetric m = allocator.metric();
            assertTrue(readings > 100, "readings " + readings);
            assertEquals(allocations.get(), releases.get());
            assertEquals(allocations.get(), m.cacheHitAllocations() + m.arenaAllocations() + m.fallbackAllocations()
                    + m.hugeAllocations() + m.overflowAllocations(), m.toString());
            assertEquals(hugeAllocations.get(), m.hugeAllocations());
            assertTrue(m.remoteReleases() > 0);
            assertEquals(0, m.inFlightRuns(), m.toString());
            assertEquals(0, m.inFlightBytes(), m.toString());
            assertEquals(0, m.unpooledBytes());
            assertTrue(m.reclaimWakeups() > 0);
        } finally {
            allocator.close();
        }
    }
}
