package io.ktls.allocator;

/**
 * One reading of an arena's allocation and release counts, its own and its caches' (live and retired), taken by
 * {@link ArenaCounters#read} in one walk; {@link AllocatorMetric} adds one figure of each arena's reading up.
 * Plain fields: a snapshot belongs to the thread that took it.
 */
final class ArenaSnapshot {
    /** Allocations served by caches (hits and refills), retired caches included. */
    long cacheAllocations;
    /** The subset of {@link #cacheAllocations} that had to refill from the arena. */
    long cacheArenaAllocations;
    long localReleases;
    long remoteReleases;
    /** Regions of live caches handed out and not released; retired caches have none by definition. */
    long cacheInFlightRegions;
    long cacheInFlightBytes;
    /** Bytes on the private lists plus bytes returned by other threads and not taken yet. */
    long cachedBytes;
    long uncachedAllocations;
    long uncachedReleases;
    long uncachedBytesInFlight;
    long fallbackPageAllocations;
    long fallbackPageReleases;

    /** Regions of this reading handed out and not yet released: cache, uncached and fallback pages. */
    long inFlightRegions() {
        return cacheInFlightRegions + uncachedAllocations - uncachedReleases + fallbackPageAllocations
                - fallbackPageReleases;
    }

    long inFlightBytes() {
        return cacheInFlightBytes + uncachedBytesInFlight
                + (fallbackPageAllocations - fallbackPageReleases) * PageRunAllocator.PAGE_BYTES;
    }
}
