package io.ktls.allocator;

import java.util.function.LongSupplier;

/**
 * The back-off of one arena's run searches, per size (FreeBSD's {@code lastallocfail}): after a search for n pages
 * failed (no free run, no slab), the slow steps of later searches for n pages or more (coalescing the depot,
 * reserving a slab) are skipped until {@code runRetryIntervalNanos} has passed. A larger run cannot be found where
 * a smaller one was not, so a failure backs off its size and every larger one; single pages never back off, they
 * are the fallback.
 *
 * <p>Threads: guarded by the arena lock.
 */
final class RunBackOff {
    /** Per size in pages: slow steps are skipped before this time (nanoClock); 0 when not backing off. */
    private final long[] retryNotBeforeNanosByPages;
    private final LongSupplier nanoClock;
    private final long intervalNanos;
    /** Whether any size is backing off: spares the array read on the common path. */
    private boolean backingOff;

    RunBackOff(int maxRunPages, LongSupplier nanoClock, long intervalNanos) {
        retryNotBeforeNanosByPages = new long[maxRunPages + 1];
        this.nanoClock = nanoClock;
        this.intervalNanos = intervalNanos;
    }

    boolean isBackingOff(int pages) {
        if (!backingOff || pages <= 1) {
            return false;
        }
        long notBefore = retryNotBeforeNanosByPages[Math.min(pages, retryNotBeforeNanosByPages.length - 1)];
        return notBefore != 0 && nanoClock.getAsLong() - notBefore < 0;
    }

    /** A search for {@code pages} (more than one) failed: back off it and every larger size. */
    void start(int pages) {
        long notBefore = nanoClock.getAsLong() + intervalNanos;
        notBefore = notBefore == 0 ? 1 : notBefore; // 0 means "not backing off"
        for (int p = pages; p < retryNotBeforeNanosByPages.length; p++) {
            retryNotBeforeNanosByPages[p] = notBefore;
        }
        backingOff = true;
    }
}
