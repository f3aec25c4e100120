package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadCacheTest {
    private static final long BOUND = 64 * 1024;

    private final PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(2).maxCachedBytesPerThread(BOUND)
            .reclaimThreads(false).build();

    @AfterEach
    void close() {
        allocator.close();
    }

    private static PageRunBuf run(ByteBuf buf) {
        return (PageRunBuf) (buf.unwrap() == null ? buf : buf.unwrap());
    }

    @Test
    void cacheNeverHoldsMoreThanItsBoundAndTheRestGoesBackToTheArena() {
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            bufs.add(allocator.directBuffer(16384));
        }
        Arena arena = allocator.currentArena();
        long freeBefore = arena.freePages();
        for (ByteBuf buf : bufs) {
            buf.release();
            assertTrue(allocator.metric().cachedBytes() <= BOUND, "cached " + allocator.metric().cachedBytes());
        }
        assertEquals(BOUND, allocator.metric().cachedBytes());
        // 20 runs of 4 pages released, 4 of them kept: 16 runs went back to the arena, parked whole in its depot.
        assertEquals(16 * 16384L, allocator.metric().depotBytes());
        assertEquals(freeBefore, arena.freePages());
        assertEquals(16 * 4, arena.depotPages());
        assertEquals(0, allocator.metric().inFlightRuns());
    }

    @Test
    void depotRunsGoToTheNextRefillAndAreCoalescedOnceUnusedForAWholeReclaimInterval() {
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            bufs.add(allocator.directBuffer(16384));
        }
        bufs.forEach(ByteBuf::release);
        Arena arena = allocator.currentArena();
        long arenaAllocations = allocator.metric().arenaAllocations();
        long freePages = arena.freePages();
        assertEquals(16 * 4, arena.depotPages());

        // Take the cache's 4 runs, then the next miss refills 5 (1 + 4 cached) from the depot, not the free runs.
        for (int i = 0; i < 5; i++) {
            bufs.set(i, allocator.directBuffer(16384));
        }
        assertEquals(arenaAllocations + 1, allocator.metric().arenaAllocations());
        assertEquals(11 * 4, arena.depotPages());
        assertEquals(freePages, arena.freePages());
        for (int i = 0; i < 5; i++) {
            bufs.get(i).release();
        }
        allocator.trimCurrentThreadCache();
        long depotPages = arena.depotPages();
        assertEquals(20 * 4, depotPages);

        arena.reclaimer.pass(false, true); // marks the low water: all of the depot sat unused since
        arena.reclaimer.pass(false, true); // coalesces it
        assertEquals(0, arena.depotPages());
        assertEquals(freePages + depotPages, arena.freePages());
        assertEquals(0, allocator.metric().depotBytes());
        assertEquals(1, arena.freeRunCount()); // the whole slab again
    }

    @Test
    void refillTakesABatchWithinTheBound() {
        ByteBuf first = allocator.directBuffer(16384);
        try {
            // The bound allows 4 cached runs: one handed out, four cached from the same refill.
            assertEquals(4 * 16384, allocator.metric().cachedBytes());
            assertEquals(1, allocator.metric().arenaAllocations());
            ByteBuf second = allocator.directBuffer(16384);
            assertEquals(1, allocator.metric().cacheHitAllocations());
            second.release();
        } finally {
            first.release();
        }
    }

    @Test
    void crossThreadReleaseReturnsRunToOriginArenaWithoutTouchingTheReleasersArena() throws Exception {
        ByteBuf buf = allocator.directBuffer(16384);
        PageRunBuf region = run(buf);
        Arena origin = allocator.currentArena();
        int offset = region.offset;
        Slab slab = region.slab;
        AtomicReference<Arena> releaserArena = new AtomicReference<>();
        AtomicReference<Long> releaserFreePages = new AtomicReference<>();
        Thread releaser = new Thread(() -> {
            Arena own = allocator.currentArena(); // joins the other arena: arenas are handed out least used first
            releaserArena.set(own);
            long before = own.freePages();
            buf.release();
            releaserFreePages.set(own.freePages() - before);
        });
        releaser.start();
        releaser.join();
        assertNotSame(origin, releaserArena.get());
        assertEquals(0L, releaserFreePages.get());
        assertEquals(0, buf.refCnt());
        assertEquals(1, allocator.metric().remoteReleases());
        assertEquals(0, allocator.metric().inFlightRuns());
        // Use up the four refilled runs first, then the returned one comes back on this thread's next miss.
        List<ByteBuf> again = new ArrayList<>();
        boolean found = false;
        for (int i = 0; i < 5 && !found; i++) {
            ByteBuf b = allocator.directBuffer(16384);
            again.add(b);
            found = run(b).offset == offset && run(b).slab == slab;
        }
        assertTrue(found, "the released run did not come back to its origin cache");
        assertSame(origin, allocator.currentArena());
        for (ByteBuf b : again) {
            b.release();
        }
    }

    @Test
    void returnedRunsBeyondTheBoundAreSpilledToTheArenaOnAdoption() throws Exception {
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            bufs.add(allocator.directBuffer(16384));
        }
        // Empty the private list so the next allocation must take the returned runs.
        while (allocator.metric().cachedBytes() > 0) {
            bufs.add(allocator.directBuffer(16384));
        }
        List<ByteBuf> remote = new ArrayList<>(bufs);
        bufs.clear();
        Thread releaser = new Thread(() -> remote.forEach(ByteBuf::release));
        releaser.start();
        releaser.join();
        assertEquals(remote.size(), allocator.metric().remoteReleases());
        assertEquals(remote.size() * 16384L, allocator.metric().cachedBytes());
        ByteBuf one = allocator.directBuffer(16384);
        assertTrue(allocator.metric().cachedBytes() <= BOUND, "cached " + allocator.metric().cachedBytes());
        one.release();
        assertEquals(0, allocator.metric().inFlightRuns());
    }
}
