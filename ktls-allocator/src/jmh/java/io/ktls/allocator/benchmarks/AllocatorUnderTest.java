package io.ktls.allocator.benchmarks;

import io.ktls.allocator.PageRunAllocator;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;

/**
 * The allocators compared side by side. Each benchmark creates a fresh instance per trial, with thread caches
 * enabled for all threads (JMH threads are not event loops, and Netty's allocators would otherwise skip their
 * caches there), so the comparison is cache against cache.
 */
public enum AllocatorUnderTest {
    PAGE_RUN {
        @Override
        ByteBufAllocator create() {
            // JMH's threads are plain threads standing in for event loops (which get a cache by default), and the
            // other pooled allocators here cache for all threads too.
            return PageRunAllocator.builder().name("jmh").cacheAllThreads(true).build();
        }
    },
    ADAPTIVE {
        @Override
        ByteBufAllocator create() {
            return new AdaptiveByteBufAllocator(true, true);
        }
    },
    /** Netty 4.2's default configuration: no per-thread magazines for threads that are not event loops. */
    ADAPTIVE_DEFAULT {
        @Override
        ByteBufAllocator create() {
            return new AdaptiveByteBufAllocator();
        }
    },
    POOLED {
        @Override
        ByteBufAllocator create() {
            return new PooledByteBufAllocator(true, PooledByteBufAllocator.defaultNumHeapArena(),
                    PooledByteBufAllocator.defaultNumDirectArena(), PooledByteBufAllocator.defaultPageSize(),
                    PooledByteBufAllocator.defaultMaxOrder(), PooledByteBufAllocator.defaultSmallCacheSize(),
                    PooledByteBufAllocator.defaultNormalCacheSize(), true);
        }
    },
    UNPOOLED {
        @Override
        ByteBufAllocator create() {
            return new UnpooledByteBufAllocator(true);
        }
    };

    abstract ByteBufAllocator create();

    /** Direct memory the allocator holds, in use or cached, by its own metric. */
    static long retainedBytes(ByteBufAllocator allocator) {
        return ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory();
    }

    /** Bytes held in thread caches (page-run allocator only, else 0). */
    static long cachedBytes(ByteBufAllocator allocator) {
        return allocator instanceof PageRunAllocator ? ((PageRunAllocator) allocator).metric().cachedBytes() : 0;
    }

    static void close(ByteBufAllocator allocator) {
        if (allocator instanceof PageRunAllocator) {
            ((PageRunAllocator) allocator).close();
        }
    }
}
