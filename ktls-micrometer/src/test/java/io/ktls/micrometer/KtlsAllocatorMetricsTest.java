package io.ktls.micrometer;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.allocator.PageRunAllocatorMetric;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KtlsAllocatorMetricsTest {

    private static final int PAGE = PageRunAllocator.PAGE_BYTES;

    private final PageRunAllocator allocator = PageRunAllocator.builder().name("metrics-test").arenas(1)
            .cacheAllThreads(true).reclaimThreads(false).slabBytes(64 * PAGE).maxMemoryBytes(64 * PAGE)
            .maxRunPages(16).build();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @AfterEach
    void closeAllocator() {
        allocator.close();
    }

    @Test
    void allocationsAreCountedByWhereTheyWereServed() throws Exception {
        new KtlsAllocatorMetrics(allocator).bindTo(registry);
        double cacheBefore = allocations("cache");
        double arenaBefore = allocations("arena");

        for (int i = 0; i < 50; i++) {
            allocator.directBuffer(PAGE).release();
        }
        assertTrue(allocations("cache") - cacheBefore >= 40, "cache hits: " + allocations("cache"));
        assertTrue(allocations("arena") > arenaBefore, "the first allocation refilled the cache from the arena");
        assertEquals(50, releases("local") + releases("remote"));
        assertEquals(0, releases("remote"));

        allocator.directBuffer(17 * PAGE).release();
        assertEquals(1, allocations("huge"), "above maxRunPages");
        allocator.heapBuffer(100).release();
        assertEquals(1, allocations("heap"));

        ByteBuf crossThread = allocator.directBuffer(PAGE);
        Thread releaser = new Thread(crossThread::release);
        releaser.start();
        releaser.join();
        assertEquals(1, releases("remote"), "released on another thread");
    }

    @Test
    void memoryAndRegionGaugesFollowBuffersInFlight() {
        new KtlsAllocatorMetrics(allocator).bindTo(registry);
        assertEquals(0, gauge("ktls.allocator.in.flight.regions"));
        assertEquals(0, gauge("ktls.allocator.memory.reserved"));
        assertEquals(64 * PAGE, gauge("ktls.allocator.memory.max"));
        assertEquals(1, gauge("ktls.allocator.arenas"));

        List<ByteBuf> held = new ArrayList<>();
        held.add(allocator.directBuffer(PAGE));
        held.add(allocator.directBuffer(4 * PAGE));
        assertEquals(2, gauge("ktls.allocator.in.flight.regions"));
        assertEquals(5 * PAGE, gauge("ktls.allocator.memory.in.flight"));
        assertEquals(64 * PAGE, gauge("ktls.allocator.memory.reserved"));
        assertEquals(gauge("ktls.allocator.memory.reserved"), gauge("ktls.allocator.memory.used"));
        assertEquals(1, counter("ktls.allocator.reserved.slabs"));
        assertEquals(1, gauge("ktls.allocator.thread.caches"));

        held.forEach(ByteBuf::release);
        assertEquals(0, gauge("ktls.allocator.in.flight.regions"));
        assertEquals(0, gauge("ktls.allocator.memory.in.flight"));
        assertTrue(gauge("ktls.allocator.memory.cached") > 0, "released pages stay in the thread's cache");
    }

    @Test
    void exhaustingTheSlabsIsCountedAsFallbackOrOverflow() {
        new KtlsAllocatorMetrics(allocator).bindTo(registry);
        List<ByteBuf> held = new ArrayList<>();
        try {
            // 64 pages of slab: 17 runs of 4 pages cannot all fit; the policy serves the rest unpooled.
            for (int i = 0; i < 17; i++) {
                held.add(allocator.directBuffer(4 * PAGE));
            }
            assertTrue(allocations("overflow") + allocations("fallback") >= 1,
                    "overflow " + allocations("overflow") + ", fallback " + allocations("fallback"));
            if (allocations("overflow") > 0) {
                assertTrue(gauge("ktls.allocator.memory.unpooled") >= 4 * PAGE);
            }
            assertTrue(counter("ktls.allocator.run.failed.attempts") >= 1);
        } finally {
            held.forEach(ByteBuf::release);
        }
        assertEquals(0, gauge("ktls.allocator.memory.unpooled"));
    }

    @Test
    void extraTagsAreAddedToTheAllocatorTag() {
        new KtlsAllocatorMetrics(allocator, Tags.of("pool", "files")).bindTo(registry);
        Meter meter = registry.get("ktls.allocator.memory.used").tags("allocator", "metrics-test", "pool", "files")
                .gauge();
        assertEquals("bytes", meter.getId().getBaseUnit());
    }

    @Test
    void prometheusScrapeNamesCountersWithTotalAndUnits() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new KtlsAllocatorMetrics(allocator).bindTo(prometheus);
        allocator.directBuffer(PAGE).release();
        String scrape = prometheus.scrape();
        for (String name : List.of(
                "ktls_allocator_allocations_total{allocator=\"metrics-test\",kind=\"cache\"}",
                "ktls_allocator_allocations_total{allocator=\"metrics-test\",kind=\"arena\"}",
                "ktls_allocator_releases_total{allocator=\"metrics-test\",kind=\"local\"} 1",
                "ktls_allocator_run_failed_attempts_total",
                "ktls_allocator_run_skipped_attempts_total",
                "ktls_allocator_in_flight_regions{allocator=\"metrics-test\"} 0",
                "ktls_allocator_memory_in_flight_bytes",
                "ktls_allocator_memory_used_bytes",
                "ktls_allocator_memory_reserved_bytes{allocator=\"metrics-test\"} 262144",
                "ktls_allocator_memory_max_bytes",
                "ktls_allocator_memory_cached_bytes",
                "ktls_allocator_memory_depot_bytes",
                "ktls_allocator_memory_unpooled_bytes",
                "ktls_allocator_reserved_slabs_total{allocator=\"metrics-test\"} 1",
                "ktls_allocator_released_slabs_total",
                "ktls_allocator_reclaim_passes_total",
                "ktls_allocator_reclaim_failure_passes_total",
                "ktls_allocator_reclaimed_regions_total",
                "ktls_allocator_reclaim_running_threads",
                "ktls_allocator_arenas{allocator=\"metrics-test\"} 1",
                "ktls_allocator_thread_caches",
                "# HELP ktls_allocator_allocations_total Buffer allocations")) {
            assertTrue(scrape.contains(name), () -> name + " missing from\n" + scrape);
        }
        assertTrue(!scrape.contains("_total_total"), scrape);
    }

    @Test
    void closeRemovesTheMetersFromEveryRegistry() {
        MeterRegistry other = new SimpleMeterRegistry();
        KtlsAllocatorMetrics metrics = new KtlsAllocatorMetrics(allocator);
        metrics.bindTo(registry);
        metrics.bindTo(other);
        // One meter per figure of PageRunAllocatorMetric, plus Netty's used direct memory (the heap figure is -1).
        int figures = PageRunAllocatorMetric.class.getDeclaredMethods().length + 1;
        assertEquals(figures, registry.getMeters().size(), "a meter for every counter of the metric");
        metrics.close();
        assertEquals(0, registry.getMeters().size());
        assertEquals(0, other.getMeters().size());
    }

    private double allocations(String kind) {
        return registry.get("ktls.allocator.allocations").tag("kind", kind).functionCounter().count();
    }

    private double releases(String kind) {
        return registry.get("ktls.allocator.releases").tag("kind", kind).functionCounter().count();
    }

    private double counter(String name) {
        FunctionCounter counter = registry.get(name).functionCounter();
        return counter.count();
    }

    private double gauge(String name) {
        Gauge gauge = registry.get(name).gauge();
        return gauge.value();
    }
}
