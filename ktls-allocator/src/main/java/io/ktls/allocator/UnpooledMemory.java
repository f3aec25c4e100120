package io.ktls.allocator;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Buffers of direct memory of their own, outside the slabs: <em>huge</em> requests above {@code maxRunPages}, and
 * <em>overflow</em> at the memory limit under {@link MaxMemoryPolicy#OVERFLOW_UNPOOLED}. Each is allocated from the
 * JVM and freed on its release, and counted.
 *
 * <p>Threads: any thread allocates and frees, without a lock; the counters are atomic. Each kind's releases are
 * counted after its allocations on the same buffer, so a reader that reads releases before allocations (as
 * {@link AllocatorMetric#inFlightRuns()} does) never sees more releases than allocations.
 */
final class UnpooledMemory {
    private final AtomicLong hugeAllocations = new AtomicLong();
    private final AtomicLong hugeReleases = new AtomicLong();
    private final AtomicLong overflowAllocations = new AtomicLong();
    private final AtomicLong overflowReleases = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();

    /** A buffer of {@code origin} {@link PageRunBuf#ORIGIN_HUGE} or {@link PageRunBuf#ORIGIN_OVERFLOW}. */
    PageRunBuf allocate(PageRunAllocator allocator, int capacity, int maxCapacity, byte origin) {
        ByteBuffer memory = DirectMemory.allocate(Math.max(capacity, 1));
        long address = DirectMemory.address(memory);
        PageRunBuf buf = new PageRunBuf(allocator);
        buf.bindUnpooled(memory, address, origin);
        bytes.addAndGet(buf.regionBytes);
        (origin == PageRunBuf.ORIGIN_HUGE ? hugeAllocations : overflowAllocations).incrementAndGet();
        return buf.init(capacity, maxCapacity);
    }

    /** Called from {@link PageRunBuf#deallocate()} with the reference count at zero. */
    void free(PageRunBuf buf) {
        bytes.addAndGet(-buf.regionBytes);
        (buf.origin == PageRunBuf.ORIGIN_HUGE ? hugeReleases : overflowReleases).incrementAndGet();
        DirectMemory.free(buf.memory);
        buf.memory = null;
    }

    long hugeAllocations() {
        return hugeAllocations.get();
    }

    long hugeReleases() {
        return hugeReleases.get();
    }

    long overflowAllocations() {
        return overflowAllocations.get();
    }

    long overflowReleases() {
        return overflowReleases.get();
    }

    /** Bytes of unpooled buffers not yet released. */
    long bytes() {
        return bytes.get();
    }
}
