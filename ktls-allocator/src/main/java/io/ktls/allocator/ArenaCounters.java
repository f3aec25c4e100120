package io.ktls.allocator;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counters of one arena: events of the arena itself, the totals of its caches that retired, and the seqlock
 * that lets a reader add up the live caches and the retired totals while caches retire. The arena's
 * {@link AllocatorMetric} only adds these readings up over the arenas.
 *
 * <h2>Retire vs read (seqlock)</h2>
 * A cache retires (owner gone, nothing in flight) by folding its counts into the retired totals and leaving the
 * arena's list of caches. Without care a reader could see it in both places or in neither.
 * <ul>
 *   <li><b>Retire</b> (reclaim thread, under {@link #retireLock}): make {@link #retireSequence} odd, fold the
 *       cache's counts in, remove it from the list, make the sequence even again.</li>
 *   <li><b>Read</b> (any thread, no lock): read the sequence; if even, read the retired totals and walk the live
 *       caches once; if the sequence is unchanged the reading stands, else it is retried (rare: once per retiring
 *       cache at most).</li>
 * </ul>
 * Every access on both sides is volatile, so the two reads of the sequence bracket the walk: a reading that stands
 * saw each cache's counts exactly once.
 *
 * <p>Threads: the event counters are written under the arena lock and are volatile so that readers need no lock;
 * the retired totals are written under {@link #retireLock} only.
 */
final class ArenaCounters {
    // Written under the arena lock, read by any thread.
    volatile long runFailures;
    volatile long runAttemptsSkipped;
    volatile long uncachedAllocations;
    volatile long uncachedReleases;
    volatile long uncachedBytesInFlight;
    volatile long fallbackPageAllocations;
    volatile long fallbackPageReleases;
    volatile long slabsReserved;
    volatile long slabsReleased;

    // Totals of the caches that retired; written under retireLock inside the seqlock.
    private final AtomicLong retiredAllocations = new AtomicLong();
    private final AtomicLong retiredArenaAllocations = new AtomicLong();
    private final AtomicLong retiredLocalReleases = new AtomicLong();
    private final AtomicLong retiredRemoteReleases = new AtomicLong();

    /** Odd while a cache retires; see the class comment. */
    private final AtomicLong retireSequence = new AtomicLong();
    private final Object retireLock = new Object();

    /**
     * Folds the counts of {@code cache} (closed, nothing in flight) into the retired totals and removes it from
     * {@code caches}, inside the seqlock. Does nothing if it is gone already (allocator close racing a reclaim
     * pass).
     */
    void retire(RunCache cache, List<RunCache> caches) {
        synchronized (retireLock) {
            if (!caches.contains(cache)) {
                return;
            }
            retireSequence.incrementAndGet();
            try {
                for (RunCache.FreeList list : cache.lists) {
                    retiredAllocations.addAndGet(list.allocations());
                    retiredArenaAllocations.addAndGet(list.arenaAllocations.get());
                    retiredLocalReleases.addAndGet(list.localReleases());
                    retiredRemoteReleases.addAndGet(list.returns.remoteReleases());
                }
                caches.remove(cache);
            } finally {
                retireSequence.incrementAndGet();
            }
        }
    }

    /** One reading of this arena's counts and of {@code caches}, consistent with retirement (see the class comment). */
    ArenaSnapshot read(List<RunCache> caches) {
        for (int attempt = 0; ; attempt++) {
            long before = retireSequence.get();
            if ((before & 1) == 0) {
                ArenaSnapshot s = readOnce(caches);
                if (retireSequence.get() == before) {
                    return s;
                }
            }
            if (attempt > 64) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /**
     * Each release is read before the allocation it pairs with (the same list's, or this arena's uncached and
     * fallback counters), so a reading never shows a region released that it does not show allocated.
     */
    private ArenaSnapshot readOnce(List<RunCache> caches) {
        ArenaSnapshot s = new ArenaSnapshot();
        s.cacheAllocations = retiredAllocations.get();
        s.cacheArenaAllocations = retiredArenaAllocations.get();
        s.localReleases = retiredLocalReleases.get();
        s.remoteReleases = retiredRemoteReleases.get();
        for (RunCache cache : caches) {
            s.cachedBytes += cache.cachedBytes();
            for (RunCache.FreeList list : cache.lists) {
                long remote = list.returns.remoteReleases();
                long local = list.localReleases();
                long allocations = list.allocations();
                s.cacheAllocations += allocations;
                s.cacheArenaAllocations += list.arenaAllocations.get();
                s.localReleases += local;
                s.remoteReleases += remote;
                s.cacheInFlightRegions += allocations - remote - local;
                s.cacheInFlightBytes += (allocations - remote - local) * list.regionBytes;
                s.cachedBytes += list.returns.pending() * list.regionBytes;
            }
        }
        s.uncachedReleases = uncachedReleases;
        s.uncachedAllocations = uncachedAllocations;
        s.uncachedBytesInFlight = uncachedBytesInFlight;
        s.fallbackPageReleases = fallbackPageReleases;
        s.fallbackPageAllocations = fallbackPageAllocations;
        return s;
    }
}
