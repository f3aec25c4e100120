package io.ktls.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The depot of one arena: runs of cached sizes that caches spilled, parked whole per size in pages, so the next
 * refill takes them back with two pointer moves instead of a search of the free runs. A parked run's pages are
 * tagged parked in its slab ({@link Slab#markParked}): neither free (no search finds them) nor in use.
 *
 * <ul>
 *   <li><b>Park</b> one run or a chain of one size, in O(1) for the chain.</li>
 *   <li><b>Take</b> the last parked run of a size for a refill; the count falling below the size's low-water mark
 *       lowers the mark.</li>
 *   <li><b>Take idle</b>: the runs below each size's low-water mark, i.e. not needed since the previous call (or
 *       all of them), for the arena to coalesce into its free runs; then the marks are reset.</li>
 * </ul>
 *
 * <p>Threads: everything under the arena lock, except {@link #bytes()}, which metrics read without it.
 */
final class Depot {
    private static final VarHandle BYTES;

    static {
        try {
            BYTES = MethodHandles.lookup().findVarHandle(Depot.class, "bytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Parked runs per size in pages, linked through {@link PageRunBuf#next}. */
    private final PageRunBuf[] runs;
    private final int[] count;
    private final int[] lowWater;
    /**
     * Bytes parked: written under the lock with release semantics, a plain store on x86 (a volatile store would
     * cost a fence per parked or refilled run), read by metrics without the lock.
     */
    private long bytes;

    Depot(int maxPages) {
        runs = new PageRunBuf[maxPages + 1];
        count = new int[maxPages + 1];
        lowWater = new int[maxPages + 1];
    }

    boolean has(int pages) {
        return pages < runs.length && runs[pages] != null;
    }

    /** Parks one run, checked in use by the caller. Its {@code home} is cleared: every refill sets it again. */
    void park(PageRunBuf buf) {
        buf.slab.markParked(buf.firstPage, buf.pages);
        buf.home = null;
        buf.next = runs[buf.pages];
        runs[buf.pages] = buf;
        count[buf.pages]++;
        BYTES.setRelease(this, bytes + buf.regionBytes);
    }

    /**
     * Parks {@code n} runs of {@code pages} pages linked from {@code head} to {@code tail}, each checked in use by
     * the caller. Their {@code home} is left as it is; every refill sets it again.
     */
    void parkChain(PageRunBuf head, PageRunBuf tail, int n, int pages) {
        for (PageRunBuf buf = head; buf != null; buf = buf.next) {
            buf.slab.markParked(buf.firstPage, buf.pages);
        }
        tail.next = runs[pages];
        runs[pages] = head;
        count[pages] += n;
        BYTES.setRelease(this, bytes + (long) n * pages * PageRunAllocator.PAGE_BYTES);
    }

    /** Takes a parked run of {@code pages} pages ({@link #has} must be true), marked used again. */
    PageRunBuf take(int pages) {
        PageRunBuf buf = runs[pages];
        runs[pages] = buf.next;
        buf.next = null;
        assert buf.slab.isParked(buf.firstPage, buf.pages) : "depot run of slab " + buf.slab.id + " at page "
                + buf.firstPage + ": " + buf.slab.describeTags(buf.firstPage, buf.pages);
        buf.slab.markUsed(buf.firstPage, buf.pages);
        int left = --count[pages];
        if (left < lowWater[pages]) {
            lowWater[pages] = left;
        }
        BYTES.setRelease(this, bytes - buf.regionBytes);
        return buf;
    }

    /**
     * Takes the runs not needed since the previous call (below each size's low-water mark), or all of them, at
     * most {@code budget}, marked used, linked through {@link PageRunBuf#next} for the caller to free; resets the
     * marks.
     */
    PageRunBuf takeIdle(int budget, boolean all) {
        PageRunBuf chain = null;
        int taken = 0;
        for (int pages = 1; pages < runs.length; pages++) {
            int n = Math.min(all ? count[pages] : lowWater[pages], budget - taken);
            for (int i = 0; i < n; i++) {
                PageRunBuf buf = take(pages);
                buf.next = chain;
                chain = buf;
            }
            taken += n;
            lowWater[pages] = count[pages];
        }
        return chain;
    }

    /** Any thread, without the lock. */
    long bytes() {
        return (long) BYTES.getAcquire(this);
    }

    long pages() {
        long pages = 0;
        for (int p = 1; p < runs.length; p++) {
            pages += (long) count[p] * p;
        }
        return pages;
    }
}
