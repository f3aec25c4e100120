package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What a request gets when no region of its size can be had (fragmentation, or the memory limit), in order:
 * <ol>
 *   <li>a multi-page request that may be non-contiguous (only in a pool built with
 *       {@code compositeFallback}) becomes a {@link CompositeByteBuf} of single pages from the caller's arena,
 *       counted in {@code fallbackAllocations} (the arena has already started its back-off for the size and
 *       woken its reclaim thread);</li>
 *   <li>not even single pages, or a request that must be contiguous (every request by default): the
 *       {@link MaxMemoryPolicy}, i.e. unpooled overflow memory, or an {@link OutOfMemoryError} naming the limit
 *       and the request.</li>
 * </ol>
 * The event loop never waits here: each step either succeeds at once or gives way to the next.
 *
 * <p>Threads: any thread, no lock of its own; the counter is atomic and passed in by the allocator, whose metric
 * reads it.
 */
final class FallbackPolicy {
    private final PageRunAllocator allocator;
    private final MaxMemoryPolicy maxMemoryPolicy;
    private final MemoryLimit memoryLimit;
    private final UnpooledMemory unpooled;
    private final AtomicLong fallbackAllocations;

    FallbackPolicy(PageRunAllocator allocator, MaxMemoryPolicy maxMemoryPolicy, MemoryLimit memoryLimit,
                   UnpooledMemory unpooled, AtomicLong fallbackAllocations) {
        this.allocator = allocator;
        this.maxMemoryPolicy = maxMemoryPolicy;
        this.memoryLimit = memoryLimit;
        this.unpooled = unpooled;
        this.fallbackAllocations = fallbackAllocations;
    }

    /**
     * No region for this request: single pages of {@code arena} if {@code compositeAllowed}, else the policy at
     * the limit. The result is not yet leak-tracked; the caller wraps it.
     */
    ByteBuf exhausted(Arena arena, int capacity, int maxCapacity, boolean compositeAllowed) {
        int pages = SizeClasses.pagesFor(capacity);
        if (compositeAllowed && pages > 1) {
            PageRunBuf[] parts = new PageRunBuf[pages];
            int got = 0;
            while (got < pages) {
                PageRunBuf page = arena.allocateUncached(1, PageRunBuf.ORIGIN_FALLBACK);
                if (page == null) {
                    break;
                }
                parts[got++] = page.init(PageRunAllocator.PAGE_BYTES, PageRunAllocator.PAGE_BYTES);
            }
            if (got == pages) {
                fallbackAllocations.incrementAndGet();
                AllocatorEvents.runFallback(allocator.name(), arena.index, capacity, "single-pages");
                CompositeByteBuf composite = new CompositeByteBuf(allocator, true, Math.max(pages, 16));
                for (PageRunBuf part : parts) {
                    composite.addComponent(true, part.writerIndex(PageRunAllocator.PAGE_BYTES));
                }
                composite.capacity(capacity);
                composite.setIndex(0, 0);
                return composite;
            }
            // Not even single pages: give back what we took, then apply the policy.
            for (int i = 0; i < got; i++) {
                parts[i].release();
            }
        }
        return atLimit(capacity, maxCapacity);
    }

    /** The {@link MaxMemoryPolicy} for a request that found no page at all, or that must be contiguous. */
    PageRunBuf atLimit(int capacity, int maxCapacity) {
        if (maxMemoryPolicy == MaxMemoryPolicy.FAIL) {
            AllocatorEvents.runFallback(allocator.name(), -1, capacity, "refused");
            throw new OutOfMemoryError("PageRunAllocator '" + allocator.name() + "': maxMemoryBytes "
                    + memoryLimit.maxBytes() + " reached (" + memoryLimit.reservedBytes()
                    + " bytes reserved, no free page); cannot allocate " + capacity + " bytes");
        }
        AllocatorEvents.runFallback(allocator.name(), -1, capacity, "unpooled");
        return unpooled.allocate(allocator, capacity, maxCapacity, PageRunBuf.ORIGIN_OVERFLOW);
    }
}
