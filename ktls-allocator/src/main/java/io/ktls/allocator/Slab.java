package io.ktls.allocator;

import java.nio.ByteBuffer;

/**
 * One block of direct memory reserved from the JVM, page-aligned and carved into {@link PageRunAllocator#PAGE_BYTES}
 * pages. The slab only knows which pages are free; finding a run is the {@link Arena}'s job.
 *
 * <p>Boundary tags: {@code tags[p]} is non-zero only at the first and the last page of a run, where it holds the
 * run's length in pages: positive when the run is free, {@code -pages} when it is in use, and
 * {@code -(pages + PARKED)} when it is parked whole in the arena's depot (in use as far as coalescing is concerned).
 * Coalescing only looks at the page just before a run (the last page of its left neighbour) and the page just
 * after it (the first page of its right neighbour), which are always boundaries. When runs merge, the boundaries
 * that become interior are cleared, so a tag at a run's ends never outlives the run: freeing checks both ends
 * ({@link #isUsed}), and a run freed twice, or freed while parked, is refused before it can corrupt the free-run
 * index.
 *
 * <p>Threads: every field except {@link #memory} and {@link #memoryAddress} is guarded by the owning arena's lock.
 * The memory itself is shared by all buffers carved from it; they only use absolute-index access, so no
 * position or limit of {@link #memory} is ever changed.
 */
final class Slab {
    final int id;
    final int pages;
    /** Page-aligned view of exactly {@code pages * PAGE_BYTES} bytes; never repositioned. */
    final ByteBuffer memory;
    /** Address of page 0, or 0 when Netty has no access to {@code sun.misc.Unsafe}. */
    final long memoryAddress;
    /** The buffer the JVM handed out; it owns the cleaner, the aligned view does not. */
    private final ByteBuffer reservation;
    private final int[] tags;
    int freePages;

    /** Tag offset of a parked run; larger than any slab's page count (ids and pages fit in 21 bits). */
    static final int PARKED = 1 << 24;

    /**
     * @param reservation direct memory of {@code pages + 1} pages (one spare so that an aligned view of the full
     *                    size always fits), allocated by the caller outside the arena lock
     */
    Slab(int id, int pages, ByteBuffer reservation) {
        this.id = id;
        this.pages = pages;
        int bytes = pages * PageRunAllocator.PAGE_BYTES;
        this.reservation = reservation;
        memory = reservation.alignedSlice(PageRunAllocator.PAGE_BYTES).slice(0, bytes);
        memoryAddress = DirectMemory.address(memory);
        tags = new int[pages];
        freePages = pages;
        markFree(0, pages);
    }

    int tag(int page) {
        return tags[page];
    }

    void markFree(int firstPage, int runPages) {
        tags[firstPage] = runPages;
        tags[firstPage + runPages - 1] = runPages;
    }

    void markUsed(int firstPage, int runPages) {
        tags[firstPage] = -runPages;
        tags[firstPage + runPages - 1] = -runPages;
    }

    void markParked(int firstPage, int runPages) {
        tags[firstPage] = -(runPages + PARKED);
        tags[firstPage + runPages - 1] = -(runPages + PARKED);
    }

    /** Clears the tags at both ends of a run whose ends become interior pages of a larger one. */
    void clearTags(int firstPage, int runPages) {
        tags[firstPage] = 0;
        tags[firstPage + runPages - 1] = 0;
    }

    /** Whether both ends of the run carry the tag of a run in use (not free, not parked). */
    boolean isUsed(int firstPage, int runPages) {
        return inBounds(firstPage, runPages) && tags[firstPage] == -runPages
                && tags[firstPage + runPages - 1] == -runPages;
    }

    /** Whether both ends of the run carry the tag of a run parked in the depot. */
    boolean isParked(int firstPage, int runPages) {
        return inBounds(firstPage, runPages) && tags[firstPage] == -(runPages + PARKED)
                && tags[firstPage + runPages - 1] == -(runPages + PARKED);
    }

    private boolean inBounds(int firstPage, int runPages) {
        return firstPage >= 0 && runPages > 0 && firstPage + runPages <= pages;
    }

    /** The tags at a run's ends, for error messages. */
    String describeTags(int firstPage, int runPages) {
        if (!inBounds(firstPage, runPages)) {
            return "out of the slab's " + pages + " pages";
        }
        return "tags " + tags[firstPage] + "/" + tags[firstPage + runPages - 1] + " (expected " + -runPages + ")";
    }

    boolean isEmpty() {
        return freePages == pages;
    }

    /** Returns the memory to the operating system; the slab must be entirely free. */
    void release() {
        assert isEmpty() : "slab " + id + ": " + (pages - freePages) + " pages still in use";
        DirectMemory.free(reservation);
    }
}
