package io.ktls.allocator;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;

/**
 * The {@link PageRunAllocatorMetric} of one allocator: it keeps no counts of its own, it adds up those of the
 * arenas (each a consistent reading of its own counters and caches, {@link ArenaCounters#read}) and the
 * allocator-wide ones (memory limit, unpooled buffers, composites, heap buffers). A getter that needs the caches
 * walks each arena's caches once; the others read the arenas' counters without a walk.
 *
 * <p>Threads: any thread, no lock; every counter read is a volatile or acquire read (see
 * {@link PageRunAllocatorMetric} for what the values promise while other threads allocate).
 */
final class AllocatorMetric implements PageRunAllocatorMetric {
    private final Arena[] arenas;
    private final MemoryLimit memoryLimit;
    private final UnpooledMemory unpooled;
    private final AtomicLong fallbackAllocations;
    private final AtomicLong heapAllocations;

    AllocatorMetric(Arena[] arenas, MemoryLimit memoryLimit, UnpooledMemory unpooled, AtomicLong fallbackAllocations,
                    AtomicLong heapAllocations) {
        this.arenas = arenas;
        this.memoryLimit = memoryLimit;
        this.unpooled = unpooled;
        this.fallbackAllocations = fallbackAllocations;
        this.heapAllocations = heapAllocations;
    }

    /** The sum over the arenas of one figure of a reading of each ({@link ArenaCounters#read}, one walk). */
    private long sumReadings(ToLongFunction<ArenaSnapshot> figure) {
        return sumArenas(a -> figure.applyAsLong(a.counters.read(a.caches)));
    }

    /** The sum of one counter of each arena that needs no walk of its caches. */
    private long sumArenas(ToLongFunction<Arena> counter) {
        long sum = 0;
        for (Arena a : arenas) {
            sum += counter.applyAsLong(a);
        }
        return sum;
    }

    @Override
    public long usedHeapMemory() {
        return -1;
    }

    @Override
    public long usedDirectMemory() {
        return memoryLimit.reservedBytes() + unpooled.bytes();
    }

    @Override
    public long cacheHitAllocations() {
        return sumReadings(s -> s.cacheAllocations - s.cacheArenaAllocations);
    }

    @Override
    public long arenaAllocations() {
        return sumReadings(s -> s.cacheArenaAllocations + s.uncachedAllocations);
    }

    @Override
    public long fallbackAllocations() {
        return fallbackAllocations.get();
    }

    @Override
    public long hugeAllocations() {
        return unpooled.hugeAllocations();
    }

    @Override
    public long overflowAllocations() {
        return unpooled.overflowAllocations();
    }

    @Override
    public long heapAllocations() {
        return heapAllocations.get();
    }

    @Override
    public long localReleases() {
        return sumReadings(s -> s.localReleases);
    }

    @Override
    public long remoteReleases() {
        return sumReadings(s -> s.remoteReleases);
    }

    @Override
    public long runAllocationFailures() {
        return sumArenas(a -> a.counters.runFailures);
    }

    @Override
    public long runAttemptsSkipped() {
        return sumArenas(a -> a.counters.runAttemptsSkipped);
    }

    @Override
    public long inFlightRuns() {
        // Releases before allocations, as within each arena's reading: never more releases than allocations.
        long released = unpooled.hugeReleases() + unpooled.overflowReleases();
        long pooled = sumReadings(ArenaSnapshot::inFlightRegions);
        return pooled + unpooled.hugeAllocations() + unpooled.overflowAllocations() - released;
    }

    @Override
    public long inFlightBytes() {
        return unpooled.bytes() + sumReadings(ArenaSnapshot::inFlightBytes);
    }

    @Override
    public long reservedBytes() {
        return memoryLimit.reservedBytes();
    }

    @Override
    public long cachedBytes() {
        return sumReadings(s -> s.cachedBytes);
    }

    @Override
    public long depotBytes() {
        return sumArenas(Arena::depotBytes);
    }

    @Override
    public long unpooledBytes() {
        return unpooled.bytes();
    }

    @Override
    public long maxMemoryBytes() {
        return memoryLimit.maxBytes();
    }

    @Override
    public long slabsReserved() {
        return sumArenas(a -> a.counters.slabsReserved);
    }

    @Override
    public long slabsReleased() {
        return sumArenas(a -> a.counters.slabsReleased);
    }

    @Override
    public long reclaimWakeups() {
        return sumArenas(a -> a.reclaimer.wakeups.get());
    }

    @Override
    public long reclaimFailureWakeups() {
        return sumArenas(a -> a.reclaimer.failureWakeups.get());
    }

    @Override
    public long reclaims() {
        return sumArenas(a -> a.reclaimer.reclaims.get());
    }

    @Override
    public int reclaimRunning() {
        return (int) sumArenas(a -> a.reclaimer.running ? 1 : 0);
    }

    @Override
    public int arenaCount() {
        return arenas.length;
    }

    @Override
    public int threadCacheCount() {
        return (int) sumArenas(a -> a.caches.size());
    }

    @Override
    public String toString() {
        return "PageRunAllocatorMetric(cacheHits " + cacheHitAllocations() + ", arena " + arenaAllocations()
                + ", fallback " + fallbackAllocations() + ", huge " + hugeAllocations() + ", overflow "
                + overflowAllocations() + ", inFlightRuns " + inFlightRuns() + ", inFlightBytes "
                + inFlightBytes() + ", reserved " + reservedBytes() + ", cached " + cachedBytes() + ", depot "
                + depotBytes() + ")";
    }
}
