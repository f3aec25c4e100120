package io.ktls.examples.stats;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;

/** Renders what any {@link ByteBufAllocator} tells about itself. */
public final class AllocatorStats {

    private AllocatorStats() {
    }

    public static void write(JsonWriter json, ByteBufAllocator allocator) {
        json.field("type", allocator.getClass().getSimpleName());
        if (allocator instanceof ByteBufAllocatorMetricProvider) {
            ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) allocator).metric();
            json.field("usedDirectMemory", metric.usedDirectMemory());
            json.field("usedHeapMemory", metric.usedHeapMemory());
        }
    }
}
