package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReclaimerTest {
    private PageRunAllocator allocator;

    @AfterEach
    void close() {
        if (allocator != null) {
            allocator.close();
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    @Test
    void aFailedRunAllocationWakesTheReclaimThreadWhichBringsHomeRunsOfATerminatedThread() throws Exception {
        int pages = 16;
        allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(1).slabBytes(pages * 4096).maxRunPages(pages)
                .compositeFallback(true)
                .maxMemoryBytes(pages * 4096).reclaimIntervalNanos(TimeUnit.MINUTES.toNanos(10)).build();
        // A worker caches every page of the only slab, then terminates without trimming.
        Thread worker = new Thread(() -> {
            List<ByteBuf> bufs = new ArrayList<>();
            for (int i = 0; i < pages; i++) {
                bufs.add(allocator.directBuffer(4096));
            }
            bufs.forEach(ByteBuf::release);
        });
        worker.start();
        worker.join();
        assertEquals(pages * 4096L, allocator.metric().cachedBytes());
        assertEquals(0, allocator.metric().runAllocationFailures());
        long wakeupsBefore = allocator.metric().reclaimWakeups();

        // Nothing is free in the arena: this run fails (served unpooled) and wakes the reclaim thread.
        ByteBuf miss = allocator.directBuffer(8192);
        miss.release();
        assertEquals(1, allocator.metric().runAllocationFailures());
        await(() -> allocator.metric().reclaims() >= pages, "the reclaim pass");
        assertTrue(allocator.metric().reclaimWakeups() > wakeupsBefore);
        assertTrue(allocator.metric().reclaimFailureWakeups() >= 1);
        assertEquals(0, allocator.metric().cachedBytes());
        assertEquals(16, allocator.arenas()[0].largestFreeRunPages());
        await(() -> allocator.arenas()[0].caches.stream().noneMatch(c -> c.owner == worker),
                "the dead thread's cache to be retired");
        assertEquals(1, allocator.metric().threadCacheCount()); // this thread's
        // Retiring kept the counts: the worker's 16 allocations are still counted, plus the miss (served by the
        // fallback or as overflow, depending on whether the reclaim pass had already run).
        assertEquals(17, allocator.metric().cacheHitAllocations() + allocator.metric().arenaAllocations()
                + allocator.metric().fallbackAllocations() + allocator.metric().overflowAllocations());
        assertEquals(0, allocator.metric().inFlightRuns());
    }

    @Test
    void theTimerTrimsTheCacheOfAnIdleEventLoopOnItsOwnThread() throws Exception {
        allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(1).reclaimIntervalNanos(TimeUnit.MILLISECONDS.toNanos(20))
                .build();
        EventLoop loop = new DefaultEventLoop();
        try {
            loop.submit(() -> {
                for (int i = 0; i < 8; i++) {
                    allocator.directBuffer(16384).release();
                }
            }).sync();
            assertTrue(allocator.metric().cachedBytes() > 0);
            await(() -> allocator.metric().cachedBytes() == 0, "the idle trim");
            assertTrue(allocator.metric().reclaimWakeups() >= 2);
            assertEquals(0, allocator.metric().reclaimFailureWakeups());
            assertEquals(0, allocator.metric().inFlightRuns());
        } finally {
            loop.shutdownGracefully(100, 1000, TimeUnit.MILLISECONDS).sync();
        }
    }

    @Test
    void anIdlePlainThreadTrimsAtItsNextMissAndEmptySlabsGoBackToTheSystem() throws Exception {
        allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(1).slabBytes(64 * 4096).maxRunPages(16)
                .compositeFallback(true)
                .maxCachedBytesPerThread(8 << 20).reclaimIntervalNanos(TimeUnit.MILLISECONDS.toNanos(20)).build();
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 64; i++) { // four slabs' worth of 16 KiB runs
            bufs.add(allocator.directBuffer(16384));
        }
        bufs.forEach(ByteBuf::release);
        assertEquals(4 * 64 * 4096L, allocator.metric().reservedBytes());
        await(() -> allocator.arenas()[0].reclaimer.trimsRequested.get() > 0, "a trim request");
        assertEquals(64 * 16384L, allocator.metric().cachedBytes()); // a plain thread is trimmed by itself...
        allocator.directBuffer(100).release(); // ...at its next miss: the fragment class was never used
        // The 16 KiB runs are gone; only the fragments of the new refill (one page cut in 128 B) are cached.
        assertEquals(4096, allocator.metric().cachedBytes());
        await(() -> allocator.metric().slabsReleased() >= 2, "empty slabs to be released");
        assertTrue(allocator.metric().reservedBytes() <= 2 * 64 * 4096L, "reserved " + allocator.metric().reservedBytes());
        assertTrue(allocator.metric().reclaims() >= 2);
    }
}
