package io.ktls.allocator;

/**
 * A page cut into equal fragments of one small size class ({@code 64 << k} bytes). Each fragment is a
 * {@link PageRunBuf} created once when the page is cut; free fragments are kept on the page's own stack so the page
 * can go back to its slab as a whole when every fragment is free again.
 *
 * <p>Threads: guarded by the owning arena's lock, like {@link Slab}.
 *
 * <p>A bit per fragment records which are free, so a fragment freed twice is refused with its coordinates.
 */
final class FragmentPage {
    final Slab slab;
    final int page;
    final int sizeClass;
    final int fragmentBytes;
    final int fragments;

    /** Free fragments, linked through {@link PageRunBuf#next}. */
    PageRunBuf free;
    int freeCount;

    /** Links in the arena's list of pages of this size class that have a free fragment. */
    FragmentPage prev;
    FragmentPage next;
    boolean inPartialList;

    FragmentPage(Slab slab, int page, int sizeClass, int fragmentBytes) {
        this.slab = slab;
        this.page = page;
        this.sizeClass = sizeClass;
        this.fragmentBytes = fragmentBytes;
        this.fragments = PageRunAllocator.PAGE_BYTES / fragmentBytes;
    }

    /** Bit i set: fragment i is on {@link #free}. A page has at most 64 fragments (4 KiB of 64 B). */
    private long freeBits;

    int indexOf(PageRunBuf buf) {
        return (buf.offset - page * PageRunAllocator.PAGE_BYTES) / fragmentBytes;
    }

    /** Takes back a free fragment; a fragment already free is refused before it can link the stack into a loop. */
    void push(PageRunBuf buf) {
        long bit = 1L << indexOf(buf);
        if ((freeBits & bit) != 0) {
            throw new IllegalStateException("fragment freed twice: slab " + slab.id + ", page " + page + ", fragment "
                    + indexOf(buf) + " of " + fragmentBytes + " bytes");
        }
        freeBits |= bit;
        buf.next = free;
        free = buf;
        freeCount++;
    }

    /** Pushes this page on the arena's list of partial pages of its class ({@code heads[sizeClass]}). */
    void linkInto(FragmentPage[] heads) {
        FragmentPage head = heads[sizeClass];
        prev = null;
        next = head;
        if (head != null) {
            head.prev = this;
        }
        heads[sizeClass] = this;
        inPartialList = true;
    }

    /** Takes this page off the arena's list of partial pages of its class. */
    void unlinkFrom(FragmentPage[] heads) {
        if (prev != null) {
            prev.next = next;
        } else {
            heads[sizeClass] = next;
        }
        if (next != null) {
            next.prev = prev;
        }
        prev = next = null;
        inPartialList = false;
    }

    PageRunBuf pop() {
        PageRunBuf buf = free;
        free = buf.next;
        buf.next = null;
        freeCount--;
        freeBits &= ~(1L << indexOf(buf));
        return buf;
    }
}
