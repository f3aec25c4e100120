package io.ktls.allocator;

/**
 * The size classes of one allocator: which class a request falls in, how many bytes a region of each class
 * covers, and how many regions a cache refill takes at once.
 *
 * <pre>
 *  class  0    1     2     3     4      5      | 6       7       ...  5 + maxCachedRunPages | above: not cached
 *  bytes  64   128   256   512   1 KiB  2 KiB  | 1 page  2 pages ...  maxCachedRunPages     |
 *         fragments of one page                | runs of whole pages                        |
 * </pre>
 *
 * Fragments are powers of two, so the waste stays under half a fragment; runs are whole 4 KiB pages, so a run
 * is page-aligned and a 16 KiB TLS record payload is exactly a class (4 pages). Immutable after construction,
 * so any thread may read it.
 */
final class SizeClasses {
    static final int PAGE_SHIFT = 12;
    /** Fragment classes 64, 128, ..., 2048 bytes. */
    static final int FRAGMENT_CLASSES = 6;
    static final int MIN_FRAGMENT_SHIFT = 6;
    static final int MAX_FRAGMENT_BYTES = 2048;
    /**
     * Most regions one refill takes: enough to amortise the arena lock, few enough that one thread does not hoard
     * a size it asked for once.
     */
    private static final int MAX_REFILL_RUNS = 64;

    /** Classes below this are kept in thread caches; {@code FRAGMENT_CLASSES + maxCachedRunPages}. */
    final int cachedClasses;
    final int[] regionBytesByClass;
    final int[] refillCountByClass;

    SizeClasses(int maxCachedRunPages, int cacheRefillBytes) {
        cachedClasses = FRAGMENT_CLASSES + maxCachedRunPages;
        regionBytesByClass = new int[cachedClasses];
        refillCountByClass = new int[cachedClasses];
        for (int c = 0; c < cachedClasses; c++) {
            regionBytesByClass[c] = c < FRAGMENT_CLASSES ? fragmentBytes(c) : runPages(c) * PageRunAllocator.PAGE_BYTES;
            // A refill brings about cacheRefillBytes, at least one region and at most one page of fragments.
            int limit = c < FRAGMENT_CLASSES ? PageRunAllocator.PAGE_BYTES / regionBytesByClass[c] : MAX_REFILL_RUNS;
            refillCountByClass[c] = Math.max(1, Math.min(limit, cacheRefillBytes / regionBytesByClass[c]));
        }
    }

    static int fragmentBytes(int sizeClass) {
        return 1 << (MIN_FRAGMENT_SHIFT + sizeClass);
    }

    /** Size class of a request; classes at or above {@link #cachedClasses} are not cached. */
    static int sizeClass(int bytes) {
        if (bytes <= MAX_FRAGMENT_BYTES) {
            return bytes <= 64 ? 0 : 32 - Integer.numberOfLeadingZeros(bytes - 1) - MIN_FRAGMENT_SHIFT;
        }
        return runClass(pagesFor(bytes));
    }

    /** The class of runs of {@code pages} pages. */
    static int runClass(int pages) {
        return FRAGMENT_CLASSES + pages - 1;
    }

    /** Pages of a run class; 0 or less for a fragment class. */
    static int runPages(int sizeClass) {
        return sizeClass - FRAGMENT_CLASSES + 1;
    }

    static boolean isFragment(int sizeClass) {
        return sizeClass < FRAGMENT_CLASSES;
    }

    static int pagesFor(int bytes) {
        return (int) (((long) bytes + PageRunAllocator.PAGE_BYTES - 1) >>> PAGE_SHIFT);
    }
}
