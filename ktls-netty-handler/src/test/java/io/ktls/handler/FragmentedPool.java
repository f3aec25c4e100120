package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.netty.buffer.ByteBuf;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A page-run pool of one 16-page slab, no thread caches, with every other page held: 8 free pages and no free
 * run of two, so every multi-page request misses. {@link #close()} gives the held pages back, checks that
 * nothing else is still out and closes the pool.
 */
final class FragmentedPool implements AutoCloseable {

    static final int PAGES = 16;

    final PageRunAllocator allocator;
    private final List<ByteBuf> held = new ArrayList<>();

    /** {@code compositeFallback}: whether the pool answers such a miss with a composite of single pages. */
    FragmentedPool(String name, boolean compositeFallback) {
        allocator = PageRunAllocator.builder().name(name).compositeFallback(compositeFallback).arenas(1)
                .slabBytes(PAGES * 4096).maxRunPages(PAGES).maxMemoryBytes(PAGES * 4096).maxCachedBytesPerThread(0)
                .reclaimThreads(false).build();
        List<ByteBuf> pages = new ArrayList<>();
        for (int i = 0; i < PAGES; i++) {
            pages.add(allocator.directBuffer(4096));
        }
        for (int i = 0; i < PAGES; i++) {
            if (i % 2 == 0) {
                held.add(pages.get(i));
            } else {
                pages.get(i).release();
            }
        }
    }

    @Override
    public void close() {
        held.forEach(ByteBuf::release);
        held.clear();
        assertEquals(0, allocator.metric().inFlightRuns(), "every run given back");
        allocator.close();
    }
}
