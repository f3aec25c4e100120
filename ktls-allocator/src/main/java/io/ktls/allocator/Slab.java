package io.ktls.allocator;

import java.nio.ByteBuffer;

/**
 * One block of direct memory reserved from the JVM, page-aligned and carved into {@link PageRunAllocator#PAGE_BYTES}
 * pages. The slab only knows which pages are free; finding a run is the {@link Arena}'s job.
 *
 * <p>Boundary tags: {@code tags[p]} is non-zero only at the first and the last page of a run, where it holds the
 * run's length in pages, positive when the run is free and negative when it is in use. Interior pages keep stale
 * values that are never read: coalescing only looks at the page just before a run (the last page of its left
 * neighbour) and the page just after it (the first page of its right neighbour), which are always boundaries.
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

    Slab(int id, int pages) {
        this.id = id;
        this.pages = pages;
        int bytes = pages * PageRunAllocator.PAGE_BYTES;
        // One spare page so that an aligned view of the full size always fits.
        reservation = DirectMemory.allocate(bytes + PageRunAllocator.PAGE_BYTES);
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

    boolean isEmpty() {
        return freePages == pages;
    }

    /** Returns the memory to the operating system; the slab must be entirely free. */
    void release() {
        assert isEmpty() : "slab " + id + ": " + (pages - freePages) + " pages still in use";
        DirectMemory.free(reservation);
    }
}
