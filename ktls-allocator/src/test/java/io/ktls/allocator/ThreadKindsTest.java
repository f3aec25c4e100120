package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocalThread;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Caches only where they pay: event loops and {@link FastThreadLocalThread}s get one, plain and virtual threads
 * share the arenas without hoarding; runs returned to an idle owner are brought home by the reclaim thread.
 */
class ThreadKindsTest {
    private PageRunAllocator allocator;

    @AfterEach
    void close() {
        if (allocator != null) {
            allocator.close();
        }
    }

    private static void exercise(PageRunAllocator allocator, int seed) {
        ByteBuf record = allocator.directBuffer(16384);
        ByteBuf header = allocator.directBuffer(200);
        record.writeLong(seed);
        header.writeInt(seed);
        assertEquals(seed, record.getLong(0));
        assertEquals(seed, header.getInt(0));
        record.release();
        header.release();
    }

    @Test
    void aPlainThreadAllocatesWithoutACacheAndKeepsNothing() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread plain = new Thread(() -> {
            try {
                for (int i = 0; i < 8; i++) {
                    exercise(allocator, i);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        plain.start();
        plain.join();
        assertNull(failure.get());
        assertEquals(0, allocator.metric().threadCacheCount());
        assertEquals(0, allocator.metric().cachedBytes());
        assertEquals(0, allocator.metric().inFlightRuns());
        assertEquals(16, allocator.metric().arenaAllocations());
    }

    @Test
    void aFastThreadLocalThreadGetsACacheOnItsFirstAllocation() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        CountDownLatch allocated = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        AtomicInteger cachesBefore = new AtomicInteger(-1);
        Thread fast = new FastThreadLocalThread(() -> {
            cachesBefore.set(allocator.metric().threadCacheCount());
            exercise(allocator, 1);
            allocated.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        fast.start();
        allocated.await();
        assertEquals(0, cachesBefore.get());
        assertEquals(1, allocator.metric().threadCacheCount());
        assertTrue(allocator.metric().cachedBytes() > 0);
        done.countDown();
        fast.join();
    }

    @Test
    void anOptionGivesPlainThreadsACacheToo() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).cacheAllThreads(true).reclaimThreads(false).build();
        Thread plain = new Thread(() -> exercise(allocator, 2));
        plain.start();
        plain.join();
        assertEquals(1, allocator.metric().threadCacheCount());
    }

    @Test
    @Timeout(120)
    void tenThousandVirtualThreadsShareTheArenasWithoutACacheEach() throws Exception {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need JDK 21");
        allocator = PageRunAllocator.builder().arenas(2).reclaimThreads(false).build();
        Method ofVirtual = Thread.class.getMethod("ofVirtual");
        Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
        Object builder = ofVirtual.invoke(null);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            int seed = i;
            threads.add((Thread) start.invoke(builder, (Runnable) () -> {
                try {
                    exercise(allocator, seed);
                    Thread.yield();
                    exercise(allocator, seed + 1);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertNull(failure.get());
        PageRunAllocatorMetric m = allocator.metric();
        assertEquals(0, m.threadCacheCount(), m.toString());
        assertEquals(0, m.cachedBytes());
        assertEquals(0, m.inFlightRuns());
        assertEquals(40_000, m.arenaAllocations());
        // Everything went back: threads growing an arena at once may each have reserved a slab (the reservation
        // is made outside the arena lock), and a reclaim pass keeps one empty slab per arena for the next burst.
        assertTrue(m.reservedBytes() <= 8L << 20, "reserved " + m.reservedBytes());
        for (Arena arena : allocator.arenas()) {
            arena.reclaimer.pass(false, false);
        }
        assertTrue(m.reservedBytes() <= 2L << 20, "reserved after a reclaim pass " + m.reservedBytes());
    }

    @Test
    @Timeout(30)
    void runsReturnedToAnIdleOwnerAreBroughtHomeByTheReclaimThread() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).maxCachedBytesPerThread(64 << 10).reclaimThreads(false)
                .build();
        List<ByteBuf> handedOver = new ArrayList<>();
        CountDownLatch allocated = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Thread owner = new FastThreadLocalThread(() -> {
            for (int i = 0; i < 8; i++) {
                handedOver.add(allocator.directBuffer(16384));
            }
            while (allocator.metric().cachedBytes() > 0) { // nothing left on the private list
                handedOver.add(allocator.directBuffer(16384));
            }
            allocated.countDown();
            try {
                done.await(); // alive, and never allocates again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        owner.start();
        try {
            allocated.await();
            handedOver.forEach(ByteBuf::release); // remote releases: into the owner's return ring
            assertEquals(handedOver.size() * 16384L, allocator.metric().cachedBytes());
            Reclaimer reclaimer = allocator.arenas()[0].reclaimer;
            reclaimer.pass(false, true);
            reclaimer.pass(false, true);
            assertEquals(0, allocator.metric().cachedBytes(), allocator.metric().toString());
            assertEquals(0, allocator.metric().inFlightRuns());
        } finally {
            done.countDown();
            owner.join();
        }
    }
}
