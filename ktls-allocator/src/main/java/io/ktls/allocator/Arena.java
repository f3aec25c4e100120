package io.ktls.allocator;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Slabs of pages, the runs carved from them and the pages cut into fragments. Caches refill from an arena and
 * spill into it (its {@link Depot}); regions too big to cache, fallback pages and everything a reclaim pass
 * collects come and go here directly. The arena also owns its caches' list and its {@link ArenaCounters}, so a
 * metric reads one arena at a time.
 *
 * <h2>Notation</h2>
 * page = 4 KiB; run = n contiguous pages of one slab, page-aligned; fragment = {@code 64 << k} bytes of a page.
 *
 * <h2>Free runs</h2>
 * Every free run is in {@link #freeRuns}, keyed {@code pages << 42 | slabId << 21 | firstPage}, so that
 * {@code ceiling(n << 42)} is the best fit: the shortest run of at least n pages, lowest slab and address first
 * (address order keeps the high end of slabs free, so they empty out and can be returned).
 * <ol>
 *   <li>Allocate n pages: take the best fit; give its tail back as a shorter free run. None fits: reserve a slab
 *       if the memory limit allows, else fail (see rate limit).</li>
 *   <li>Free: merge with the free neighbour runs found through the slab's boundary tags, insert the union.</li>
 * </ol>
 *
 * <h2>Growth</h2>
 * A search that misses first coalesces the depot, then asks for a new slab. The slab's memory is reserved from the
 * JVM <em>outside</em> the arena lock ({@link #addSlab()}): {@code ByteBuffer.allocateDirect} near the JVM's limit
 * runs the garbage collector and sleeps, and no other thread of the arena (an event loop freeing or allocating a
 * cached size) may wait behind the lock for that. The caller then takes the lock again and retries its search;
 * two threads growing at once reserve two slabs at most (both within {@code maxMemoryBytes}), and an extra empty
 * slab is returned by the reclaim thread.
 *
 * <h2>Back-off (rate limit)</h2>
 * After a search for n pages failed, the slow steps of later searches for n pages or more are skipped for a while
 * ({@link RunBackOff}), and the reclaim thread is woken to bring cached regions home. The back-off never refuses
 * memory that is there: the free-run index is always searched (one {@code ceiling}), smaller sizes
 * are not affected, and callers that cannot fall back to single pages (transport reads, capacity growth) never
 * back off.
 *
 * <h2>Double frees</h2>
 * Every run freed or parked is checked against its boundary tags ({@link Slab#isUsed}); a run freed twice throws
 * {@link IllegalStateException} naming its slab and pages, and leaves the arena as it was.
 *
 * <p>Threads: all structures are guarded by {@code this} (the arena lock); the {@link ArenaCounters} are volatile so
 * metrics can read them without the lock. The list of caches is copy-on-write: caches join rarely (event loops and fast thread-local
 * threads only), metrics and the reclaim thread iterate it often; a cache leaves it only by {@link #retire}.
 */
final class Arena {
    private static final int ID_BITS = 21;
    private static final long ID_MASK = (1L << ID_BITS) - 1;

    final PageRunAllocator parent;
    final int index;
    final List<RunCache> caches = new CopyOnWriteArrayList<>();
    final Reclaimer reclaimer;
    final ArenaCounters counters = new ArenaCounters();

    private final MemoryLimit memoryLimit;
    private final int slabPages;
    private final List<Slab> slabs = new ArrayList<>();
    private final TreeSet<Long> freeRuns = new TreeSet<>();
    private final FragmentPage[] partialPages = new FragmentPage[SizeClasses.FRAGMENT_CLASSES];
    private boolean closed;

    /** Spilled runs of cached sizes, parked whole; null when caching is disabled. Guarded by this. */
    private final Depot depot;
    private final RunBackOff backOff;
    /**
     * Set by a search that missed when a new slab may help (within the memory limit, not closing); read by the same
     * thread before it leaves the lock. Guarded by this.
     */
    private boolean missWantsSlab;

    Arena(PageRunAllocator parent, int index, int slabPages, int maxRunPages, int cachedRunPages,
          boolean depotEnabled) {
        this.parent = parent;
        this.index = index;
        this.slabPages = slabPages;
        this.memoryLimit = parent.memoryLimit;
        depot = depotEnabled ? new Depot(cachedRunPages) : null;
        backOff = new RunBackOff(maxRunPages, parent::nanoTime, parent.runRetryIntervalNanos);
        this.reclaimer = new Reclaimer(this);
    }

    private static long key(int pages, int slabId, int firstPage) {
        return (long) pages << (2 * ID_BITS) | (long) slabId << ID_BITS | firstPage;
    }

    // ---- runs ----------------------------------------------------------------------------------------------

    /**
     * Allocates a run for a caller that does not cache it (regions above the cached sizes, fallback pages).
     * Returns null when no run can be had.
     */
    PageRunBuf allocateUncached(int pages, byte origin) {
        return allocateUncached(pages, origin, true);
    }

    /**
     * As {@link #allocateUncached(int, byte)}; {@code mayBackOff} is false for callers that cannot fall back to
     * single pages, which always get a full attempt.
     */
    PageRunBuf allocateUncached(int pages, byte origin, boolean mayBackOff) {
        for (;;) {
            synchronized (this) {
                PageRunBuf buf = allocateRunLocked(pages, true, mayBackOff);
                if (buf != null) {
                    countUncachedLocked(buf, origin);
                    return buf;
                }
                if (!missWantsSlab) {
                    return null;
                }
            }
            if (!addSlab()) {
                failed(pages);
                return null;
            }
        }
    }

    /** A fragment of {@code sizeClass} for a thread without a cache; null when no page can be had. */
    PageRunBuf allocateFragmentUncached(int sizeClass) {
        for (;;) {
            synchronized (this) {
                PageRunBuf buf = allocateFragmentLocked(sizeClass, true);
                if (buf != null) {
                    buf.home = null;
                    countUncachedLocked(buf, PageRunBuf.ORIGIN_ARENA);
                    return buf;
                }
                if (!missWantsSlab) {
                    return null;
                }
            }
            if (!addSlab()) {
                failed(1);
                return null;
            }
        }
    }

    private void countUncachedLocked(PageRunBuf buf, byte origin) {
        buf.origin = origin;
        if (origin == PageRunBuf.ORIGIN_FALLBACK) {
            counters.fallbackPageAllocations++;
        } else {
            counters.uncachedAllocations++;
            counters.uncachedBytesInFlight += buf.regionBytes;
        }
    }

    /**
     * Owner of {@code list}'s cache: allocates {@code count} regions of its class, or up to {@code depotCount} while
     * the depot has runs of the size (taking a parked run costs two pointer moves, so a refill takes as many as
     * the cache bound allows and the lock is amortised over more of them). The first is returned for the caller
     * to hand out, the others go on the private list. Returns null when not even one was available.
     */
    PageRunBuf refill(RunCache.FreeList list, int count, int depotCount, boolean mayBackOff) {
        for (;;) {
            synchronized (this) {
                PageRunBuf first = refillLocked(list, count, depotCount, mayBackOff);
                if (first != null || !missWantsSlab) {
                    return first;
                }
            }
            if (!addSlab()) {
                failed(Math.max(1, SizeClasses.runPages(list.sizeClass)));
                return null;
            }
        }
    }

    private PageRunBuf refillLocked(RunCache.FreeList list, int count, int depotCount, boolean mayBackOff) {
        PageRunBuf first = null;
        boolean fragments = SizeClasses.isFragment(list.sizeClass);
        int pages = SizeClasses.runPages(list.sizeClass);
        int limit = count;
        for (int i = 0; i < limit; i++) {
            // Only the first region is needed: running short after it is not a failure.
            boolean needed = i == 0;
            PageRunBuf buf;
            if (fragments) {
                buf = allocateFragmentLocked(list.sizeClass, needed);
            } else if (depot != null && depot.has(pages)) {
                buf = depot.take(pages);
                limit = Math.max(limit, depotCount);
            } else {
                buf = allocateRunLocked(pages, needed, mayBackOff);
            }
            if (buf == null) {
                break;
            }
            buf.home = list.returns;
            buf.origin = PageRunBuf.ORIGIN_CACHE;
            if (first == null) {
                first = buf;
            } else {
                list.cache.pushFree(list, buf);
            }
        }
        return first;
    }

    private PageRunBuf allocateRunLocked(int pages, boolean needed, boolean mayBackOff) {
        int[] run = findRunLocked(pages, needed, mayBackOff);
        if (run == null) {
            return null;
        }
        PageRunBuf buf = new PageRunBuf(parent);
        buf.bindRun(this, slabs.get(run[0]), run[1], pages);
        return buf;
    }

    /**
     * Returns {slabId, firstPage} of a run now marked used, or null. An extra run for a refill batch
     * ({@code needed} false) is only taken from the free runs. For a needed run, a miss coalesces the depot, then
     * sets {@link #missWantsSlab} when a new slab may help (the caller reserves one outside the lock and retries),
     * or else counts the failure, starts this size's back-off and wakes the reclaim thread. While the size backs off
     * and the caller may fall back ({@code mayBackOff}), the slow steps are skipped.
     */
    private int[] findRunLocked(int pages, boolean needed, boolean mayBackOff) {
        missWantsSlab = false;
        long ceiling = (long) pages << (2 * ID_BITS);
        Long key = freeRuns.ceiling(ceiling);
        if (key == null) {
            if (!needed) {
                return null;
            }
            if (mayBackOff && backOff.isBackingOff(pages)) {
                counters.runAttemptsSkipped++;
                return null;
            }
            if (flushDepotsLocked(Integer.MAX_VALUE, true) > 0) {
                key = freeRuns.ceiling(ceiling);
            }
            if (key == null) {
                if (!closed && memoryLimit.hasRoomFor((long) slabPages * PageRunAllocator.PAGE_BYTES)) {
                    missWantsSlab = true;
                } else {
                    failedLocked(pages);
                }
                return null;
            }
        }
        freeRuns.remove(key);
        int runPages = (int) (key >>> (2 * ID_BITS));
        int slabId = (int) (key >>> ID_BITS & ID_MASK);
        int firstPage = (int) (key & ID_MASK);
        Slab slab = slabs.get(slabId);
        slab.markUsed(firstPage, pages);
        if (runPages > pages) {
            slab.markFree(firstPage + pages, runPages - pages);
            freeRuns.add(key(runPages - pages, slabId, firstPage + pages));
        }
        slab.freePages -= pages;
        return new int[] {slabId, firstPage};
    }

    /** Any thread, without the lock: counts a failed search for {@code pages} (see {@link #failedLocked}). */
    private synchronized void failed(int pages) {
        failedLocked(pages);
    }

    /**
     * A needed run of {@code pages} could not be had: count it, back off this size and every larger one (a larger
     * run cannot be found where this one was not), and wake the reclaim thread.
     */
    private void failedLocked(int pages) {
        if (pages > 1) {
            counters.runFailures++;
            backOff.start(pages);
            AllocatorEvents.runBackOff(parent.name(), index, pages, parent.runRetryIntervalNanos);
        }
        reclaimer.wake();
    }

    /**
     * Any thread, without the arena lock: reserves a slab of memory within the limit, allocates it from the JVM
     * (which may run the garbage collector and sleep: no lock is held), then adds it under the lock. Returns false
     * when the limit is reached, the JVM has no direct memory left (counted as a failure by the caller, so the
     * back-off spares the JVM repeated waits) or the arena closed meanwhile.
     */
    boolean addSlab() {
        long bytes = (long) slabPages * PageRunAllocator.PAGE_BYTES;
        if (!memoryLimit.reserve(bytes)) {
            return false;
        }
        ByteBuffer reservation;
        try {
            reservation = memoryLimit.slabMemory(slabPages + 1);
        } catch (OutOfMemoryError e) {
            memoryLimit.unreserve(bytes);
            return false;
        }
        synchronized (this) {
            if (!closed) {
                int id = slabs.indexOf(null);
                if (id < 0) {
                    id = slabs.size();
                    slabs.add(null);
                }
                Slab slab = new Slab(id, slabPages, reservation);
                slabs.set(id, slab);
                freeRuns.add(key(slabPages, id, 0));
                counters.slabsReserved++;
                AllocatorEvents.slabReserved(parent.name(), index, bytes, memoryLimit.reservedBytes());
                return true;
            }
        }
        DirectMemory.free(reservation);
        memoryLimit.unreserve(bytes);
        return false;
    }

    private static IllegalStateException doubleFree(Slab slab, int firstPage, int pages, String state) {
        return new IllegalStateException("run freed twice or not in use: slab " + slab.id + ", pages " + firstPage
                + ".." + (firstPage + pages - 1) + " (" + pages + " pages), " + state);
    }

    /** Frees a run in use; refuses (throws, changing nothing) a run whose tags do not say so. */
    private void freeRunLocked(Slab slab, int firstPage, int pages) {
        if (!slab.isUsed(firstPage, pages)) {
            throw doubleFree(slab, firstPage, pages, slab.describeTags(firstPage, pages));
        }
        slab.freePages += pages;
        slab.clearTags(firstPage, pages);
        if (firstPage > 0) {
            int left = slab.tag(firstPage - 1);
            if (left > 0) {
                slab.clearTags(firstPage - left, left);
                firstPage -= left;
                freeRuns.remove(key(left, slab.id, firstPage));
                pages += left;
            }
        }
        int end = firstPage + pages;
        if (end < slab.pages) {
            int right = slab.tag(end);
            if (right > 0) {
                slab.clearTags(end, right);
                freeRuns.remove(key(right, slab.id, end));
                pages += right;
            }
        }
        slab.markFree(firstPage, pages);
        freeRuns.add(key(pages, slab.id, firstPage));
        if (closed && slab.isEmpty()) {
            releaseSlabLocked(slab);
        }
    }

    private void releaseSlabLocked(Slab slab) {
        freeRuns.remove(key(slab.pages, slab.id, 0));
        slabs.set(slab.id, null);
        slab.release();
        memoryLimit.unreserve((long) slab.pages * PageRunAllocator.PAGE_BYTES);
        counters.slabsReleased++;
        AllocatorEvents.slabReleased(parent.name(), index, (long) slab.pages * PageRunAllocator.PAGE_BYTES,
                                     memoryLimit.reservedBytes());
    }

    // ---- fragments -----------------------------------------------------------------------------------------

    private PageRunBuf allocateFragmentLocked(int sizeClass, boolean needed) {
        FragmentPage page = partialPages[sizeClass];
        if (page == null) {
            int[] run = findRunLocked(1, needed, false);
            if (run == null) {
                return null;
            }
            page = new FragmentPage(slabs.get(run[0]), run[1], sizeClass, SizeClasses.fragmentBytes(sizeClass));
            for (int i = page.fragments - 1; i >= 0; i--) {
                PageRunBuf fragment = new PageRunBuf(parent);
                fragment.bindFragment(this, page, i);
                page.push(fragment);
            }
            page.linkInto(partialPages);
        }
        PageRunBuf buf = page.pop();
        if (page.freeCount == 0) {
            page.unlinkFrom(partialPages);
        }
        return buf;
    }

    private void freeFragmentLocked(PageRunBuf buf) {
        FragmentPage page = buf.fragmentPage;
        page.push(buf); // throws, changing nothing, when the fragment is already free
        buf.home = null;
        if (!page.inPartialList) {
            page.linkInto(partialPages);
        }
        // Keep the last partial page of a class even when it empties: a page that flips between cut and
        // whole on every other call would cost a page allocation per fragment.
        if (page.freeCount == page.fragments && (partialPages[page.sizeClass] != page || page.next != null
                || closed)) {
            page.unlinkFrom(partialPages);
            page.free = null;
            freeRunLocked(page.slab, page.page, 1);
        }
    }

    // ---- free ----------------------------------------------------------------------------------------------

    /** Takes back one region that belongs to no cache any more (its counters were already updated). */
    synchronized void free(PageRunBuf buf) {
        freeLocked(buf);
    }

    /** Takes back a chain of regions linked through {@link PageRunBuf#next}, under one lock; returns their number. */
    synchronized int freeChain(PageRunBuf chain) {
        int regions = 0;
        while (chain != null) {
            PageRunBuf next = chain.next;
            chain.next = null;
            freeLocked(chain);
            chain = next;
            regions++;
        }
        return regions;
    }

    /**
     * Parks {@code count} whole runs of {@code pages} pages, linked through {@link PageRunBuf#next} from
     * {@code head} to {@code tail}, in the depot in O(1): a cache spilling what it took back beyond its bound.
     * Their {@code home} is left as it is; every refill sets it again. Returns false, having done nothing, when the
     * depot does not take runs (disabled, or the arena is closing); the caller then frees them one by one.
     */
    synchronized boolean parkRuns(PageRunBuf head, PageRunBuf tail, int count, int pages) {
        if (depot == null || closed) {
            return false;
        }
        // One pass over the chain: each run must be in use (a run parked twice would link the depot into a loop).
        for (PageRunBuf buf = head; buf != null; buf = buf.next) {
            if (!buf.slab.isUsed(buf.firstPage, buf.pages)) {
                throw doubleFree(buf.slab, buf.firstPage, buf.pages, buf.slab.describeTags(buf.firstPage, buf.pages));
            }
        }
        depot.parkChain(head, tail, count, pages);
        return true;
    }

    /** Frees a region that was allocated uncached (large run or fallback page) and counts the release. */
    synchronized void freeUncached(PageRunBuf buf) {
        if (buf.origin == PageRunBuf.ORIGIN_FALLBACK) {
            counters.fallbackPageReleases++;
        } else {
            counters.uncachedReleases++;
            counters.uncachedBytesInFlight -= buf.regionBytes;
        }
        freeLocked(buf);
    }

    private void freeLocked(PageRunBuf buf) {
        if (buf.isFragment()) {
            freeFragmentLocked(buf);
        } else if (buf.home != null && depot != null && !closed) {
            if (!buf.slab.isUsed(buf.firstPage, buf.pages)) {
                throw doubleFree(buf.slab, buf.firstPage, buf.pages, buf.slab.describeTags(buf.firstPage, buf.pages));
            }
            depot.park(buf);
        } else {
            freeRunLocked(buf.slab, buf.firstPage, buf.pages);
            // The object goes with its region: runs are carved anew on the next refill. The binding stays, so a
            // stale second free is refused by the tags with the run's coordinates.
            buf.home = null;
        }
    }

    // ---- depot --------------------------------------------------------------------------------------------

    /**
     * Coalesces depot runs back into the free-run index: all of them, or (when {@code all} is false) those not
     * needed since the previous call. At most {@code budget} runs; returns their number.
     */
    private int flushDepotsLocked(int budget, boolean all) {
        if (depot == null) {
            return 0;
        }
        int flushed = 0;
        PageRunBuf buf = depot.takeIdle(budget, all);
        while (buf != null) {
            PageRunBuf next = buf.next;
            buf.next = null;
            freeRunLocked(buf.slab, buf.firstPage, buf.pages);
            buf = next;
            flushed++;
        }
        return flushed;
    }

    /** Reclaim thread: coalesces idle depot runs (all of them after a failure). Returns the number. */
    synchronized int flushDepots(int budget, boolean all) {
        return flushDepotsLocked(budget, all);
    }

    // ---- reclaim -------------------------------------------------------------------------------------------

    /**
     * Returns entirely free slabs to the operating system, keeping {@code keepEmpty} of them for the next
     * burst. Returns the number released.
     */
    synchronized int releaseEmptySlabs(int keepEmpty) {
        int released = 0;
        int empty = 0;
        for (int i = slabs.size() - 1; i >= 0; i--) {
            Slab slab = slabs.get(i);
            if (slab != null && slab.isEmpty()) {
                if (empty++ >= keepEmpty) {
                    releaseSlabLocked(slab);
                    released++;
                }
            }
        }
        return released;
    }

    /**
     * Reclaim thread (or a test): closes a cache with nothing in flight, brings home what other threads returned
     * to it, and retires it: its counts fold into {@link #counters} and it leaves {@link #caches}, inside the
     * counters' seqlock, so a metric never sees it in both or in neither.
     */
    void retire(RunCache cache) {
        cache.close();
        cache.drainReturned();
        counters.retire(cache, caches);
    }

    synchronized void close() {
        closed = true;
        flushDepotsLocked(Integer.MAX_VALUE, true);
        for (int c = 0; c < partialPages.length; c++) {
            FragmentPage page = partialPages[c];
            while (page != null) {
                FragmentPage next = page.next;
                if (page.freeCount == page.fragments) {
                    page.unlinkFrom(partialPages);
                    page.free = null;
                    freeRunLocked(page.slab, page.page, 1);
                }
                page = next;
            }
        }
        for (Slab slab : new ArrayList<>(slabs)) {
            if (slab != null && slab.isEmpty()) {
                releaseSlabLocked(slab);
            }
        }
    }

    // ---- views for metrics and tests -----------------------------------------------------------------------

    /** Any thread, without the lock: bytes parked in the depot. */
    long depotBytes() {
        return depot == null ? 0 : depot.bytes();
    }

    synchronized int largestFreeRunPages() {
        return freeRuns.isEmpty() ? 0 : (int) (freeRuns.last() >>> (2 * ID_BITS));
    }

    synchronized int freeRunCount() {
        return freeRuns.size();
    }

    synchronized long depotPages() {
        return depot == null ? 0 : depot.pages();
    }

    synchronized long freePages() {
        long free = 0;
        for (Slab slab : slabs) {
            if (slab != null) {
                free += slab.freePages;
            }
        }
        return free;
    }

    synchronized int slabCount() {
        int n = 0;
        for (Slab slab : slabs) {
            if (slab != null) {
                n++;
            }
        }
        return n;
    }
}
