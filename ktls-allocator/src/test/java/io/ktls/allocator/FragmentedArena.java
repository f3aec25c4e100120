package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.ArrayList;
import java.util.List;

/** An arena cut into single free pages: what makes a run of two or more pages impossible without a reclaim. */
final class FragmentedArena {

    private FragmentedArena() {
    }

    /**
     * Allocates {@code pages} single pages from an empty arena, keeps the even ones and releases the odd ones:
     * pages 1, 3, 5, ... are left free, no two of them adjacent. The caller releases the pages returned.
     */
    static List<ByteBuf> holdEveryOtherPage(ByteBufAllocator allocator, int pages) {
        List<ByteBuf> all = new ArrayList<>();
        for (int i = 0; i < pages; i++) {
            all.add(allocator.directBuffer(4096));
        }
        List<ByteBuf> held = new ArrayList<>();
        for (int i = 0; i < pages; i++) {
            if (i % 2 == 0) {
                held.add(all.get(i));
            } else {
                all.get(i).release();
            }
        }
        return held;
    }
}
