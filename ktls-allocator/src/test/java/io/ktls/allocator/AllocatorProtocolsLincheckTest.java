package io.ktls.allocator;

import org.jetbrains.lincheck.Lincheck;
import org.jetbrains.lincheck.LincheckSettings;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Model checking of the allocator's lock-free protocols with Lincheck: each scenario runs a few threads over one
 * small arena and cache, and Lincheck explores their interleavings (switching threads at every shared access).
 * The outcome that loses or duplicates a run is forbidden in each: at the end every page of the arena is free,
 * parked or held by exactly one party, and a run freed twice would throw (the arena checks its boundary tags).
 *
 * <p>Quick mode (default test run): {@value #QUICK_INVOCATIONS} interleavings per scenario. Long mode:
 * {@code -Dktls.lincheck.invocations=2000} (see docs/allocator.md); the tag {@code lincheck} runs them alone.
 */
@Tag("lincheck")
class AllocatorProtocolsLincheckTest {
    static final int QUICK_INVOCATIONS = 40;
    private static final int INVOCATIONS = Integer.getInteger("ktls.lincheck.invocations", QUICK_INVOCATIONS);

    /** The 1-page class, the only one these scenarios use. */
    private static final int PAGE_CLASS = SizeClasses.FRAGMENT_CLASSES;
    private static final int SLAB_PAGES = 8;

    /** One arena of one slab of 8 pages, and a cache of the calling thread with rings of {@code ringSlots}. */
    private static final class Fixture {
        /**
         * Shared by the scenarios that need no allocator-wide state: each invocation gets a fresh arena of its own
         * (building an allocator per invocation would dominate the run). Its limit only bounds the sum of the
         * arenas' reservations, never reached.
         */
        static final PageRunAllocator SHARED = PageRunAllocator.builder().arenas(1).slabBytes(SLAB_PAGES * 4096)
                .maxRunPages(SLAB_PAGES).maxCachedRunPages(1).maxMemoryBytes(1L << 50).reclaimThreads(false)
                .build();

        final PageRunAllocator allocator;
        final Arena arena;
        final RunCache cache;
        final RunCache.FreeList list;

        /** A fresh arena under the shared allocator. */
        Fixture(long maxCachedBytes, int ringSlots) {
            this(SHARED, new Arena(SHARED, 0, SLAB_PAGES, SLAB_PAGES, 1, true), maxCachedBytes, ringSlots);
        }

        /** A whole allocator of one arena, for scenarios that read its metrics. */
        static Fixture withAllocator(long maxCachedBytes) {
            PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).slabBytes(SLAB_PAGES * 4096)
                    .maxRunPages(SLAB_PAGES).maxCachedRunPages(1).reclaimThreads(false).build();
            return new Fixture(allocator, allocator.arenas()[0], maxCachedBytes, 0);
        }

        Fixture(PageRunAllocator allocator, Arena arena, long maxCachedBytes, int ringSlots) {
            this.allocator = allocator;
            this.arena = arena;
            int classes = PAGE_CLASS + 1;
            int[] regionBytes = new int[classes];
            int[] refill = new int[classes];
            for (int c = 0; c < classes; c++) {
                regionBytes[c] = c < PAGE_CLASS ? SizeClasses.fragmentBytes(c) : 4096;
                refill[c] = 1;
            }
            cache = new RunCache(arena, Thread.currentThread(), null, maxCachedBytes, regionBytes, refill, ringSlots);
            arena.caches.add(cache);
            list = cache.lists[PAGE_CLASS];
        }

        /** A 1-page run of the cache, as a refill hands it out. */
        PageRunBuf cachedRun() {
            PageRunBuf buf = arena.allocateUncached(1, PageRunBuf.ORIGIN_CACHE);
            buf.home = list.returns;
            return buf;
        }

        /** Pages of the arena free or parked; with nothing held, the whole slab. */
        long pagesHome() {
            return arena.freePages() + arena.depotPages();
        }
    }

    /**
     * Runs {@code scenario} under Lincheck's model checker for {@link #INVOCATIONS} interleavings. The JDK's own
     * classes are not analysed (the protocols under test are ours; the arena lock and the copy-on-write list of
     * caches are trusted): that keeps the first invocation, which instruments every class it meets, well inside
     * Lincheck's 30 s invocation timeout on a loaded machine.
     */
    private static void check(Runnable scenario) {
        Lincheck.runConcurrentTestInternal$lincheck(INVOCATIONS, settings(), scenario);
    }

    /** Lincheck's defaults, but without analysing the JDK's classes. */
    private static LincheckSettings settings() {
        LincheckSettings defaults = new LincheckSettings();
        return new LincheckSettings(false, defaults.getLoopIterationsBeforeThreadSwitch(), defaults.getLoopBound(),
                defaults.getRecursionBound());
    }

    /**
     * Lincheck instruments the classes a scenario meets during its first invocation, which on a loaded machine can
     * exceed its 30 s invocation timeout and be reported as a hang. One throwaway invocation over the same classes
     * takes that cost before the scenarios run; its outcome is not a finding either way.
     */
    @BeforeAll
    static void instrumentOnce() {
        try {
            Lincheck.runConcurrentTestInternal$lincheck(1, settings(), () -> {
                Fixture f = Fixture.withAllocator(2 * 4096);
                PageRunBuf run = f.cachedRun();
                Thread t = new Thread(() -> f.list.returns.free(run));
                t.start();
                f.list.returns.take(1);
                join(t);
                f.cache.close();
                f.cache.reap();
                f.arena.retire(f.cache);
                f.allocator.metric().inFlightRuns();
            });
        } catch (Throwable ignored) {
            // Only the instrumentation mattered.
        }
    }

    private static Thread start(Runnable body, AtomicReference<Throwable> failure) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        t.start();
        return t;
    }

    private static void join(Thread... threads) {
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Adds every region of a chain taken by the owner to {@code seen}, failing on one seen twice. */
    private static void collect(Map<PageRunBuf, Boolean> seen, PageRunBuf buf) {
        if (buf != null && seen.put(buf, Boolean.TRUE) != null) {
            throw new AssertionError("run handed out twice: page " + buf.firstPage);
        }
    }

    /**
     * Takes three 1-page runs of the cache and starts two threads releasing them to its return ring, two by one
     * and one by the other; returns the two threads.
     */
    private static Thread[] releaseThreeRuns(Fixture f, AtomicReference<Throwable> failure) {
        PageRunBuf a = f.cachedRun();
        PageRunBuf b = f.cachedRun();
        PageRunBuf c = f.cachedRun();
        Thread r1 = start(() -> {
            f.list.returns.free(a);
            f.list.returns.free(b);
        }, failure);
        Thread r2 = start(() -> f.list.returns.free(c), failure);
        return new Thread[] {r1, r2};
    }

    /**
     * After the owner's first take raced the releases of three runs: later takes get what it left behind, and
     * together with the owner's list and the arena's pages they account for the three runs, none twice.
     */
    private static void assertThreeRunsEachOnce(Fixture f, Map<PageRunBuf, Boolean> taken) {
        for (int i = 0; i < 3; i++) {
            collect(taken, f.list.returns.take(1));
        }
        for (PageRunBuf node = f.list.head; node != null; node = node.next) {
            collect(taken, node);
        }
        long inArena = f.pagesHome() - (SLAB_PAGES - 3);
        assertEquals(3, taken.size() + inArena, "runs lost or duplicated: taken " + taken.size()
                + ", in the arena " + inArena);
    }

    @Test
    @Timeout(300)
    void theReturnRingAndItsStackNeitherLoseNorDuplicateARunWhileTheOwnerTakes() {
        check(() -> {
            // A ring of 2 slots: the third release overflows to the stack.
            Fixture f = new Fixture(2 * 4096, 2);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] releasers = releaseThreeRuns(f, failure);
            Map<PageRunBuf, Boolean> taken = new IdentityHashMap<>();
            collect(taken, f.list.returns.take(1)); // the owner, racing the releases
            join(releasers);
            assertNull(failure.get());
            assertEquals(3, f.list.returns.remoteReleases());
            assertThreeRunsEachOnce(f, taken);
            assertEquals(0, f.list.returns.pending());
        });
    }

    @Test
    @Timeout(300)
    void theReclaimThreadDrainingAnIdleOwnersRingRacesReleasesAndTheOwnerWithoutLoss() {
        check(() -> {
            Fixture f = new Fixture(2 * 4096, 2);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] releasers = releaseThreeRuns(f, failure);
            Thread reclaimer = start(f.cache::drainReturned, failure); // the cache is open: a try-lock drain
            Map<PageRunBuf, Boolean> taken = new IdentityHashMap<>();
            collect(taken, f.list.returns.take(1));
            join(releasers);
            join(reclaimer);
            assertNull(failure.get());
            assertThreeRunsEachOnce(f, taken);
        });
    }

    @Test
    @Timeout(300)
    void releasesRacingCloseAllReachTheArena() {
        check(() -> {
            Fixture f = new Fixture(2 * 4096, 2);
            PageRunBuf a = f.cachedRun();
            PageRunBuf b = f.cachedRun();
            PageRunBuf c = f.cachedRun();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread r1 = start(() -> {
                f.list.returns.free(a);
                f.list.returns.free(b);
                f.list.returns.free(c);
            }, failure);
            Thread closer = start(() -> {
                f.cache.close();
                f.cache.drainReturned();
            }, failure);
            join(r1, closer);
            assertNull(failure.get());
            // No further drain: a closed cache strands nothing.
            assertEquals(SLAB_PAGES, f.pagesHome(), "a run released around close() did not reach the arena");
            assertEquals(0, f.list.returns.pending());
        });
    }

    @Test
    @Timeout(300)
    void aTrimAndAReapHandThePrivateListsBackExactlyOnce() {
        check(() -> {
            Fixture f = new Fixture(4 * 4096, 0);
            f.cache.pushFree(f.list, f.cachedRun());
            f.cache.pushFree(f.list, f.cachedRun());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // A reaper (a reclaim pass, or the allocator's close) races the owner's own trim.
            Thread reaper = start(f.cache::reap, failure);
            f.cache.trim();
            join(reaper);
            assertNull(failure.get()); // a second walk of the list would free a run twice and throw
            assertEquals(SLAB_PAGES, f.pagesHome());
            assertEquals(0, f.cache.cachedBytes());
            assertEquals(null, f.list.head);
        });
    }

    @Test
    @Timeout(300)
    void anIdleTrimTaskRunOnAnotherThreadNeverTouchesTheOwnersLists() {
        check(() -> {
            Fixture f = new Fixture(4 * 4096, 0);
            PageRunBuf first = f.cachedRun();
            f.cache.pushFree(f.list, first);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // The executor ran the task on a thread that is not the owner while the owner allocates and frees.
            Thread elsewhere = start(f.cache.trimTask, failure);
            PageRunBuf buf = f.cache.allocate(PAGE_CLASS, true);
            f.list.freeLocal(buf);
            join(elsewhere);
            assertNull(failure.get());
            assertEquals(first, f.list.head);
            assertEquals(4096, f.cache.cachedBytes());
            assertEquals(SLAB_PAGES - 1, f.pagesHome());
        });
    }

    @Test
    @Timeout(300)
    void metricsReadWhileACacheRetiresCountItExactlyOnce() {
        check(() -> {
            // The shared allocator's own arena, whose caches its metrics sum over; no run of it is touched (the
            // cache's counters are all that matter), so every invocation finds it as the previous one left it.
            PageRunAllocator allocator = Fixture.SHARED;
            Arena arena = allocator.arenas()[0];
            Fixture f = new Fixture(allocator, arena, 4 * 4096, 0);
            PageRunBuf buf = new PageRunBuf(allocator); // a stand-in region: only the counts are read
            buf.home = f.list.returns;
            f.list.countAllocation(); // one allocation and one release counted by the cache: nothing in flight
            f.list.freeLocal(buf);
            f.cache.close();
            PageRunAllocatorMetric m = allocator.metric();
            long hitsBefore = m.cacheHitAllocations(); // retired caches of earlier invocations included
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread retirer = start(() -> arena.retire(f.cache), failure);
            long inFlight = m.inFlightRuns();
            long hits = m.cacheHitAllocations();
            join(retirer);
            assertNull(failure.get());
            assertEquals(0, inFlight, "in flight while the cache retired");
            assertEquals(hitsBefore, hits, "cache hits while the cache retired");
            assertEquals(0, arena.caches.size());
        });
    }
}
