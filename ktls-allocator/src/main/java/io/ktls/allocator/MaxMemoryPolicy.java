package io.ktls.allocator;

/** What {@link PageRunAllocator} does when {@code maxMemoryBytes} is reached and no free page is left. */
public enum MaxMemoryPolicy {
    /**
     * Serve the request with direct memory of its own, outside the slabs and outside the limit, freed on release
     * and counted by {@link PageRunAllocatorMetric#overflowAllocations()}. The event loop never waits or fails,
     * at the price of memory beyond the configured maximum (still bounded by the JVM's direct memory limit).
     */
    OVERFLOW_UNPOOLED,
    /** Throw an {@link OutOfMemoryError} whose message names the limit and the request. */
    FAIL
}
