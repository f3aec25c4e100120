package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The way home of buffers released on other threads: the return ring, its overflow stack, closing. */
class ReturnRingTest {
    private static final long BOUND = 64 * 1024;
    /** Ring slots of the 16 KiB class under {@link #BOUND}: twice the 4 cached runs, at least the minimum. */
    private static final int SLOTS = ReturnRing.ringSlots(BOUND, 16384);

    private static PageRunBuf run(ByteBuf buf) {
        return (PageRunBuf) (buf.unwrap() == null ? buf : buf.unwrap());
    }

    @Test
    void ringSlotsAreAPowerOfTwoWithinTheirLimits() {
        assertEquals(ReturnRing.MIN_RING_SLOTS, SLOTS);
        assertEquals(128, ReturnRing.ringSlots(1 << 20, 16384)); // twice 64 cached record runs
        assertEquals(ReturnRing.MAX_RING_SLOTS, ReturnRing.ringSlots(1 << 20, 64));
        assertEquals(32, ReturnRing.ringSlots(1 << 20, 65536)); // twice 16 cached 64 KiB runs
        assertEquals(ReturnRing.MIN_RING_SLOTS, ReturnRing.ringSlots(1 << 20, 256 << 10));
    }

    @Test
    void releasesBeyondTheRingOverflowToTheStackAndEveryRoundComesHomeExactlyCounted() throws Exception {
        PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(2).maxCachedBytesPerThread(BOUND)
                .reclaimThreads(false).build();
        try {
            int perRound = SLOTS + 10;
            long releases = 0;
            Arena arena = allocator.currentArena();
            // Several rounds, so the ring's indices wrap around its slots more than once.
            for (int round = 0; round < 6; round++) {
                List<ByteBuf> bufs = new ArrayList<>();
                for (int i = 0; i < perRound; i++) {
                    bufs.add(allocator.directBuffer(16384).writeLong(round));
                }
                Thread releaser = new Thread(() -> bufs.forEach(ByteBuf::release));
                releaser.start();
                releaser.join();
                releases += perRound;
                for (ByteBuf buf : bufs) {
                    assertEquals(0, buf.refCnt());
                }
                assertEquals(releases, allocator.metric().remoteReleases());
                assertEquals(0, allocator.metric().inFlightRuns(), allocator.metric().toString());
                assertEquals(0, allocator.metric().inFlightBytes());
                // Not taken yet: the private list (emptied by the allocations above, or partly refilled) plus all
                // returned runs, in the ring and on the stack.
                assertTrue(allocator.metric().cachedBytes() >= perRound * 16384L,
                        "cached " + allocator.metric().cachedBytes());
                // The next misses take them back; what the bound does not allow goes to the arena.
                allocator.trimCurrentThreadCache();
                assertEquals(0, allocator.metric().cachedBytes());
            }
            assertEquals(releases, allocator.metric().cacheHitAllocations() + allocator.metric().arenaAllocations());
            assertEquals(arena.freePages() + arena.depotPages(), (long) arena.slabCount() * 256);
        } finally {
            allocator.close();
        }
    }

    @Test
    void theOwnerTakesReturnedRunsInOrderAndSpillsWhatTheBoundDoesNotAllow() throws Exception {
        PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(2).maxCachedBytesPerThread(BOUND)
                .reclaimThreads(false).build();
        try {
            List<ByteBuf> bufs = new ArrayList<>();
            for (int i = 0; i < SLOTS; i++) {
                bufs.add(allocator.directBuffer(16384));
            }
            while (allocator.metric().cachedBytes() > 0) { // empty the private list: the next miss takes returns
                bufs.add(allocator.directBuffer(16384));
            }
            List<ByteBuf> returned = new ArrayList<>(bufs.subList(0, SLOTS));
            List<ByteBuf> kept = new ArrayList<>(bufs.subList(SLOTS, bufs.size()));
            Thread releaser = new Thread(() -> returned.forEach(ByteBuf::release));
            releaser.start();
            releaser.join();
            ByteBuf first = allocator.directBuffer(16384);
            // The oldest return comes first (the ring is taken in order), and the bound holds after the take.
            assertEquals(run(returned.get(0)).offset, run(first).offset);
            assertTrue(allocator.metric().cachedBytes() <= BOUND, "cached " + allocator.metric().cachedBytes());
            long parked = SLOTS - 1 - BOUND / 16384;
            assertEquals(parked, allocator.metric().depotBytes() / 16384);
            Arena arena = allocator.currentArena();
            assertEquals(parked * 4, arena.depotPages());
            // The parked runs serve the next refill: the four cached ones first, then one refill from the depot.
            List<ByteBuf> again = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                again.add(allocator.directBuffer(16384));
            }
            assertTrue(arena.depotPages() < parked * 4, "depot pages " + arena.depotPages());
            first.release();
            kept.forEach(ByteBuf::release);
            again.forEach(ByteBuf::release);
            assertEquals(0, allocator.metric().inFlightRuns());
            allocator.trimCurrentThreadCache();
            assertEquals((long) arena.slabCount() * 256, arena.freePages() + arena.depotPages());
        } finally {
            allocator.close();
        }
    }

    @Test
    @Tag("stress")
    @Timeout(60)
    void buffersReleasedWhileTheAllocatorClosesAllReachTheArenaAndEverySlabIsFreed() throws Exception {
        for (int attempt = 0; attempt < 20; attempt++) {
            PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(1).maxCachedBytesPerThread(BOUND)
                    .reclaimThreads(false).build();
            int releasers = 3;
            int perReleaser = 200;
            List<List<ByteBuf>> shares = new ArrayList<>();
            for (int r = 0; r < releasers; r++) {
                List<ByteBuf> share = new ArrayList<>();
                for (int i = 0; i < perReleaser; i++) {
                    share.add(allocator.directBuffer(16384));
                }
                shares.add(share);
            }
            CountDownLatch start = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (List<ByteBuf> share : shares) {
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        share.forEach(ByteBuf::release);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                t.start();
                threads.add(t);
            }
            start.countDown();
            if (attempt % 2 == 1) {
                Thread.yield();
            }
            allocator.close(); // races with the releases: each must reach the arena, through the ring or around it
            for (Thread t : threads) {
                t.join();
            }
            assertNull(failure.get());
            assertEquals(0, allocator.metric().inFlightRuns(), allocator.metric().toString());
            assertEquals(0, allocator.metric().cachedBytes(), allocator.metric().toString());
            assertEquals(0, allocator.metric().reservedBytes(), "slabs still held after close: "
                    + allocator.metric());
        }
    }
}
