package io.ktls.allocator;

/**
 * JMX view of {@link PageRunAllocatorMetric}, registered by {@link PageRunAllocator#registerMBean()} (or the
 * builder's {@code registerMBean(true)}) as {@code io.ktls.allocator:type=PageRunAllocator,name=<name>}.
 */
public interface PageRunAllocatorMXBean {
    long getCacheHitAllocations();

    long getArenaAllocations();

    long getFallbackAllocations();

    long getHugeAllocations();

    long getOverflowAllocations();

    long getHeapAllocations();

    long getLocalReleases();

    long getRemoteReleases();

    long getRunAllocationFailures();

    long getRunAttemptsSkipped();

    long getInFlightRuns();

    long getInFlightBytes();

    long getReservedBytes();

    long getCachedBytes();

    long getDepotBytes();

    long getUnpooledBytes();

    long getMaxMemoryBytes();

    long getReclaimWakeups();

    long getReclaims();

    int getReclaimRunning();

    int getThreadCacheCount();
}
