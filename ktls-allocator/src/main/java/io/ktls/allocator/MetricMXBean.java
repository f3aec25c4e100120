package io.ktls.allocator;

/** Adapts the metric interface to the getter names JMX expects. */
final class MetricMXBean implements PageRunAllocatorMXBean {
    private final PageRunAllocatorMetric metric;

    MetricMXBean(PageRunAllocatorMetric metric) {
        this.metric = metric;
    }

    @Override public long getCacheHitAllocations() { return metric.cacheHitAllocations(); }
    @Override public long getArenaAllocations() { return metric.arenaAllocations(); }
    @Override public long getFallbackAllocations() { return metric.fallbackAllocations(); }
    @Override public long getHugeAllocations() { return metric.hugeAllocations(); }
    @Override public long getOverflowAllocations() { return metric.overflowAllocations(); }
    @Override public long getHeapAllocations() { return metric.heapAllocations(); }
    @Override public long getLocalReleases() { return metric.localReleases(); }
    @Override public long getRemoteReleases() { return metric.remoteReleases(); }
    @Override public long getRunAllocationFailures() { return metric.runAllocationFailures(); }
    @Override public long getRunAttemptsSkipped() { return metric.runAttemptsSkipped(); }
    @Override public long getInFlightRuns() { return metric.inFlightRuns(); }
    @Override public long getInFlightBytes() { return metric.inFlightBytes(); }
    @Override public long getReservedBytes() { return metric.reservedBytes(); }
    @Override public long getCachedBytes() { return metric.cachedBytes(); }
    @Override public long getDepotBytes() { return metric.depotBytes(); }
    @Override public long getUnpooledBytes() { return metric.unpooledBytes(); }
    @Override public long getMaxMemoryBytes() { return metric.maxMemoryBytes(); }
    @Override public long getReclaimWakeups() { return metric.reclaimWakeups(); }
    @Override public long getReclaims() { return metric.reclaims(); }
    @Override public int getReclaimRunning() { return metric.reclaimRunning(); }
    @Override public int getThreadCacheCount() { return metric.threadCacheCount(); }
}
