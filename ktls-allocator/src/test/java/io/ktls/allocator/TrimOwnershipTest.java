package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cache's private lists are touched by its owner only: an idle-trim task an executor runs on another thread
 * (a caller-runs rejection handler, an event loop resumed on a new thread) leaves them to the owner, a run freed
 * twice is refused with its coordinates, and no executor failure ends a reclaim pass.
 */
class TrimOwnershipTest {
    private PageRunAllocator allocator;

    @AfterEach
    void close() {
        if (allocator != null) {
            allocator.close();
        }
    }

    /** Runs {@code body} on a new thread whose current executor is {@code executor}, as an event loop's tasks. */
    private static Thread startOwner(io.netty.util.concurrent.EventExecutor executor, Runnable body) {
        Thread t = new Thread(ThreadExecutorMap.apply(body, executor), "owner");
        t.start();
        return t;
    }

    @Test
    @Timeout(30)
    void anIdleTrimRunByTheExecutorOnAnotherThreadLeavesThePrivateListsToTheOwner() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        CountDownLatch cached = new CountDownLatch(1);
        CountDownLatch passed = new CountDownLatch(1);
        AtomicReference<Long> cachedAfterMiss = new AtomicReference<>();
        // ImmediateEventExecutor runs a task on the thread that hands it over: here the reclaim pass's thread.
        Thread owner = startOwner(ImmediateEventExecutor.INSTANCE, () -> {
            for (int i = 0; i < 8; i++) {
                allocator.directBuffer(16384).release();
            }
            cached.countDown();
            try {
                passed.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            allocator.directBuffer(100).release(); // a miss: the owner trims here
            cachedAfterMiss.set(allocator.metric().cachedBytes());
        });
        cached.await();
        long cachedBytes = allocator.metric().cachedBytes();
        assertTrue(cachedBytes > 0);
        Reclaimer reclaimer = allocator.arenas()[0].reclaimer;
        reclaimer.pass(false, true);
        reclaimer.pass(false, true); // idle for a whole interval: a trim is requested through the executor
        assertTrue(reclaimer.trimsRequested.get() > 0);
        assertEquals(cachedBytes, allocator.metric().cachedBytes(), "the trim ran on a thread other than the owner");
        passed.countDown();
        owner.join();
        // Only the fragments of the miss's refill (one page of 128 B) are left.
        assertEquals(4096, cachedAfterMiss.get());
        assertEquals(0, allocator.metric().inFlightRuns());
    }

    @Test
    @Timeout(60)
    void trimTasksRacingTheOwnerNeverFreeARunTwice() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).slabBytes(64 * 4096).maxRunPages(16)
                .maxCachedBytesPerThread(256 << 10).reclaimThreads(false).build();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread owner = startOwner(ImmediateEventExecutor.INSTANCE, () -> {
            List<ByteBuf> bufs = new ArrayList<>();
            try {
                for (int round = 0; !stop.get() || round < 1000; round++) {
                    for (int i = 0; i < 8; i++) {
                        bufs.add(allocator.directBuffer(i % 2 == 0 ? 16384 : 8192).writeInt(round));
                    }
                    started.countDown();
                    for (ByteBuf b : bufs) {
                        assertEquals(round, b.getInt(0));
                        b.release();
                    }
                    bufs.clear();
                }
                allocator.trimCurrentThreadCache();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                started.countDown();
            }
        });
        started.await();
        Reclaimer reclaimer = allocator.arenas()[0].reclaimer;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        try {
            while (System.nanoTime() < deadline && owner.isAlive()) {
                reclaimer.pass(true, false); // after a failure: every cache holding regions is asked to trim
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            stop.set(true);
            owner.join();
        }
        assertNull(failure.get());
        Arena arena = allocator.arenas()[0];
        assertEquals(0, allocator.metric().inFlightRuns(), allocator.metric().toString());
        assertEquals((long) arena.slabCount() * 64, arena.freePages() + arena.depotPages(),
                "pages lost or counted twice: " + allocator.metric());
    }

    @Test
    void aSecondFreeOfARunThrowsWithItsCoordinatesAndLeavesTheArenaIntact() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).slabBytes(64 * 4096).maxRunPages(16).reclaimThreads(false)
                .build();
        Arena arena = allocator.arenas()[0];
        // A cache so that the run looks like one of its regions (they go to the depot when freed).
        Thread owner = startOwner(ImmediateEventExecutor.INSTANCE, () -> allocator.directBuffer(16384).release());
        owner.join();
        ReturnRing home = arena.caches.get(0).lists[SizeClasses.FRAGMENT_CLASSES + 3].returns;
        PageRunBuf cachedRun = arena.allocateUncached(4, PageRunBuf.ORIGIN_CACHE);
        cachedRun.home = home;
        PageRunBuf plainRun = arena.allocateUncached(2, PageRunBuf.ORIGIN_CACHE);
        long freePages = arena.freePages();
        long depotPages = arena.depotPages();

        arena.free(cachedRun); // parked whole in the depot
        IllegalStateException parked = assertThrows(IllegalStateException.class, () -> arena.free(cachedRun));
        String where = "slab " + cachedRun.slab.id + ", pages " + cachedRun.firstPage + ".."
                + (cachedRun.firstPage + 3);
        assertTrue(parked.getMessage().contains(where), parked.getMessage());
        assertEquals(freePages, arena.freePages());
        assertEquals(depotPages + 4, arena.depotPages());

        Slab slab = plainRun.slab;
        int first = plainRun.firstPage;
        arena.free(plainRun); // coalesced into the free runs
        plainRun.slab = slab; // a stale copy of the binding, as a second walk of one list would hold
        plainRun.firstPage = first;
        IllegalStateException free = assertThrows(IllegalStateException.class, () -> arena.free(plainRun));
        assertTrue(free.getMessage().contains("slab " + slab.id + ", pages " + first + ".." + (first + 1)),
                free.getMessage());
        assertEquals(freePages + 2, arena.freePages());
        assertEquals(depotPages + 4, arena.depotPages());
    }

    @Test
    void anExecutorThatThrowsDoesNotEndTheReclaimPass() throws Exception {
        allocator = PageRunAllocator.builder().arenas(1).maxCachedBytesPerThread(64 << 10).reclaimThreads(false)
                .build();
        CountDownLatch cached = new CountDownLatch(1);
        CountDownLatch passed = new CountDownLatch(1);
        Thread owner = startOwner(new ThrowingExecutor(), () -> {
            List<ByteBuf> bufs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                bufs.add(allocator.directBuffer(16384));
            }
            bufs.forEach(ByteBuf::release); // four stay cached, sixteen go to the depot
            cached.countDown();
            try {
                passed.await(); // alive and idle
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            allocator.trimCurrentThreadCache();
        });
        try {
            cached.await();
            Arena arena = allocator.arenas()[0];
            assertEquals(16 * 4, arena.depotPages());
            Reclaimer reclaimer = arena.reclaimer;
            assertDoesNotThrow(() -> reclaimer.pass(false, true));
            assertDoesNotThrow(() -> reclaimer.pass(false, true)); // idle: a trim is handed to the executor
            assertTrue(reclaimer.trimsRequested.get() > 0);
            assertEquals(0, arena.depotPages(), "the pass ended before coalescing the idle depot");
        } finally {
            passed.countDown();
            owner.join();
        }
    }
}
