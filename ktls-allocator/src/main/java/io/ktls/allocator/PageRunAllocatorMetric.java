package io.ktls.allocator;

import io.netty.buffer.ByteBufAllocatorMetric;

/**
 * Read-only counters of a {@link PageRunAllocator}. Counters are exact: each event is counted once, on the thread
 * where it happens; a reader sees each thread's counts in order, and once every buffer has been released,
 * {@link #inFlightRuns()} and {@link #inFlightBytes()} are 0. Values read while other threads allocate are a
 * consistent lower bound of allocations at the moment of reading, not a single atomic snapshot.
 *
 * <p>A "region" is what one buffer covers: a run of pages, a page fragment, or unpooled memory; a fallback
 * composite counts one region per page.
 */
public interface PageRunAllocatorMetric extends ByteBufAllocatorMetric {

    /** Allocations served from the allocating thread's cache without touching an arena. */
    long cacheHitAllocations();

    /** Allocations that took an arena lock: cache refills, and runs above {@code maxCachedRunPages}. */
    long arenaAllocations();

    /**
     * Multi-page requests served as a composite of single pages because no contiguous run was available (only in
     * a pool built with {@code compositeFallback}).
     */
    long fallbackAllocations();

    /** Requests above {@code maxRunPages}, served with unpooled direct memory. */
    long hugeAllocations();

    /** Requests served with unpooled direct memory because {@code maxMemoryBytes} was reached. */
    long overflowAllocations();

    /** Heap buffers (delegated to Netty's unpooled heap buffers; not part of the in-flight counts). */
    long heapAllocations();

    /** Cached-size regions released on the thread that allocated them. */
    long localReleases();

    /** Cached-size regions released on another thread and handed back through the origin's return ring. */
    long remoteReleases();

    /** Multi-page run attempts that found no contiguous run and no room for a new slab. */
    long runAllocationFailures();

    /** Multi-page run attempts skipped by the rate limit after a failure (served by the fallback instead). */
    long runAttemptsSkipped();

    /** Regions handed out and not yet released. */
    long inFlightRuns();

    /** Bytes of the regions handed out and not yet released (region sizes, not requested capacities). */
    long inFlightBytes();

    /** Direct memory held in slabs. */
    long reservedBytes();

    /** Bytes of free regions held by thread caches, including regions returned by other threads not yet taken. */
    long cachedBytes();

    /**
     * Bytes of free runs that caches gave back to their arena, parked whole for the next refill; the reclaim
     * thread coalesces those not needed for a whole interval.
     */
    long depotBytes();

    /** Bytes of unpooled direct memory in flight (huge and overflow buffers). */
    long unpooledBytes();

    /** The configured limit for {@link #reservedBytes()}. */
    long maxMemoryBytes();

    /** Slabs reserved from and returned to the operating system since start. */
    long slabsReserved();

    long slabsReleased();

    /** Passes of the reclaim threads (timer and wake-ups). */
    long reclaimWakeups();

    /** Passes that were asked for by a failed allocation. */
    long reclaimFailureWakeups();

    /** Regions and slabs the reclaim threads moved back (from idle or orphaned caches, or to the OS). */
    long reclaims();

    /** Reclaim threads in a pass right now. */
    int reclaimRunning();

    int arenaCount();

    /** Thread caches alive (including those of terminated threads whose buffers are still in flight). */
    int threadCacheCount();
}
