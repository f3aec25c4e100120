package io.ktls.allocator;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * The allocator-wide bound of direct memory held in slabs ({@code maxMemoryBytes}), shared by all arenas, and
 * the source of slab memory. An arena reserves a slab's bytes here before it asks the JVM for them and gives them
 * back when the slab goes back to the operating system.
 *
 * <p>Threads: any thread, no lock. A reservation is one compare-and-set on {@link #reservedBytes}, so two arenas
 * growing at once can never together pass the bound; {@link #hasRoomFor} is only a hint read under an arena lock
 * to decide whether a search that missed should try for a slab.
 */
final class MemoryLimit {
    private final long maxBytes;
    private final IntFunction<ByteBuffer> slabMemory;
    private final AtomicLong reservedBytes = new AtomicLong();

    MemoryLimit(long maxBytes, IntFunction<ByteBuffer> slabMemory) {
        this.maxBytes = maxBytes;
        this.slabMemory = slabMemory;
    }

    /** Reserves {@code bytes} if they fit under the bound; returns whether they did. */
    boolean reserve(long bytes) {
        for (;;) {
            long current = reservedBytes.get();
            if (current + bytes > maxBytes) {
                return false;
            }
            if (reservedBytes.compareAndSet(current, current + bytes)) {
                return true;
            }
        }
    }

    void unreserve(long bytes) {
        reservedBytes.addAndGet(-bytes);
    }

    /** Whether {@code bytes} would fit now (a hint; {@link #reserve} decides). */
    boolean hasRoomFor(long bytes) {
        return reservedBytes.get() + bytes <= maxBytes;
    }

    /** Direct memory for {@code pages} pages, from the JVM (tests may inject their own); may throw OutOfMemoryError. */
    ByteBuffer slabMemory(int pages) {
        return slabMemory.apply(pages * PageRunAllocator.PAGE_BYTES);
    }

    long reservedBytes() {
        return reservedBytes.get();
    }

    long maxBytes() {
        return maxBytes;
    }
}
