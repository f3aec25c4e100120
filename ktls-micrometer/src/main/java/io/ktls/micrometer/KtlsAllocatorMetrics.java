package io.ktls.micrometer;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.allocator.PageRunAllocatorMetric;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Meters of a {@link PageRunAllocator}: every counter of its {@link PageRunAllocatorMetric}, under
 * {@code ktls.allocator.*}. Where Micrometer's {@code NettyAllocatorMetrics} can only show a non-pooled allocator's
 * used memory, these show where each allocation was served from (thread cache, arena, single-page fallback,
 * unpooled), where released buffers went (local or remote release), the memory held in slabs, caches and the
 * depot, and the reclaim threads' work.
 *
 * <pre>{@code
 * new KtlsAllocatorMetrics(allocator).bindTo(registry);   // tagged allocator=<allocator.name()>
 * }</pre>
 *
 * <p>Counters are {@link FunctionCounter}s and levels are {@link Gauge}s that read the metric when the registry
 * is scraped. The metric sums its arenas (a walk of each arena's thread caches for some figures), so a scrape
 * costs a few microseconds per arena and allocation costs nothing more. The metric exposes no per-arena figures;
 * the meters are the allocator's totals. The heap figure of Netty's {@code ByteBufAllocatorMetric} is not
 * exported: heap buffers are Netty's unpooled ones, and the allocator counts them only
 * ({@code ktls.allocator.allocations{kind=heap}}).
 *
 * <p>Threads: bind and close from any thread. The binder keeps the metric only to register its meters; the
 * meters hold it weakly, so they do not keep a dropped allocator's arenas alive.
 */
public final class KtlsAllocatorMetrics implements MeterBinder, AutoCloseable {

    private static final String PREFIX = "ktls.allocator.";
    private static final String REGIONS = "regions";

    private final PageRunAllocatorMetric metric;
    private final Tags tags;
    private final RegisteredMeters meters = new RegisteredMeters();

    /** Meters of {@code allocator}, tagged {@code allocator=}{@link PageRunAllocator#name()}. */
    public KtlsAllocatorMetrics(PageRunAllocator allocator) {
        this(allocator, Tags.empty());
    }

    /** Meters of {@code allocator}, tagged {@code allocator=}{@link PageRunAllocator#name()} and {@code tags}. */
    public KtlsAllocatorMetrics(PageRunAllocator allocator, Iterable<Tag> tags) {
        this(allocator.metric(), Tags.of("allocator", allocator.name()).and(tags));
    }

    /** Meters of {@code metric}, tagged with {@code tags} only. */
    public KtlsAllocatorMetrics(PageRunAllocatorMetric metric, Iterable<Tag> tags) {
        this.metric = Objects.requireNonNull(metric, "metric");
        this.tags = Tags.of(Objects.requireNonNull(tags, "tags"));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        // Where allocations were served: disjoint paths, so their sum is every allocation. cache: from the
        // allocating thread's cache; arena: took an arena lock (cache refills, runs above maxCachedRunPages);
        // fallback: several pages served as a composite of single pages (no contiguous run); huge: above
        // maxRunPages, unpooled; overflow: unpooled because maxMemoryBytes was reached; heap: Netty's heap buffers.
        allocations(registry, "cache", PageRunAllocatorMetric::cacheHitAllocations);
        allocations(registry, "arena", PageRunAllocatorMetric::arenaAllocations);
        allocations(registry, "fallback", PageRunAllocatorMetric::fallbackAllocations);
        allocations(registry, "huge", PageRunAllocatorMetric::hugeAllocations);
        allocations(registry, "overflow", PageRunAllocatorMetric::overflowAllocations);
        allocations(registry, "heap", PageRunAllocatorMetric::heapAllocations);

        // Released on the allocating thread, or on another one and handed back through the origin's return ring.
        releases(registry, "local", PageRunAllocatorMetric::localReleases);
        releases(registry, "remote", PageRunAllocatorMetric::remoteReleases);

        counter(registry, "run.failed.attempts", "attempts", "Multi-page run attempts that found no contiguous run and no"
                + " room for a new slab", PageRunAllocatorMetric::runAllocationFailures);
        counter(registry, "run.skipped.attempts", "attempts", "Multi-page run attempts skipped by the rate limit after"
                + " a failure, served by the fallback instead", PageRunAllocatorMetric::runAttemptsSkipped);

        gauge(registry, "in.flight.regions", REGIONS, "Regions (runs, page fragments, unpooled buffers) handed out"
                + " and not yet released", PageRunAllocatorMetric::inFlightRuns);
        gauge(registry, "memory.in.flight", BaseUnits.BYTES, "Bytes of the regions handed out and not yet"
                + " released (region sizes, not requested capacities)", PageRunAllocatorMetric::inFlightBytes);
        gauge(registry, "memory.used", BaseUnits.BYTES, "Direct memory the allocator holds: slabs plus unpooled"
                + " buffers in flight", PageRunAllocatorMetric::usedDirectMemory);
        gauge(registry, "memory.reserved", BaseUnits.BYTES, "Direct memory held in slabs",
                PageRunAllocatorMetric::reservedBytes);
        gauge(registry, "memory.max", BaseUnits.BYTES, "The configured limit of the memory held in slabs"
                + " (maxMemoryBytes)", PageRunAllocatorMetric::maxMemoryBytes);
        gauge(registry, "memory.cached", BaseUnits.BYTES, "Bytes of free regions held by thread caches, including"
                + " regions returned by other threads not yet taken", PageRunAllocatorMetric::cachedBytes);
        gauge(registry, "memory.depot", BaseUnits.BYTES, "Bytes of free runs that caches gave back to their arena,"
                + " parked whole for the next refill", PageRunAllocatorMetric::depotBytes);
        gauge(registry, "memory.unpooled", BaseUnits.BYTES, "Bytes of unpooled direct memory in flight (huge and"
                + " overflow buffers)", PageRunAllocatorMetric::unpooledBytes);

        counter(registry, "reserved.slabs", "slabs", "Slabs reserved from the operating system",
                PageRunAllocatorMetric::slabsReserved);
        counter(registry, "released.slabs", "slabs", "Slabs returned to the operating system",
                PageRunAllocatorMetric::slabsReleased);

        counter(registry, "reclaim.passes", "passes", "Passes of the reclaim threads, on their timer or woken up",
                PageRunAllocatorMetric::reclaimWakeups);
        counter(registry, "reclaim.failure.passes", "passes", "Reclaim passes asked for by a failed allocation"
                + " (a subset of ktls.allocator.reclaim.passes)", PageRunAllocatorMetric::reclaimFailureWakeups);
        counter(registry, "reclaimed", REGIONS, "Regions and slabs the reclaim threads moved back, from idle or"
                + " orphaned caches or to the operating system", PageRunAllocatorMetric::reclaims);
        gauge(registry, "reclaim.running", BaseUnits.THREADS, "Reclaim threads in a pass right now",
                PageRunAllocatorMetric::reclaimRunning);

        gauge(registry, "arenas", "arenas", "Arenas of the allocator", PageRunAllocatorMetric::arenaCount);
        gauge(registry, "thread.caches", "caches", "Thread caches alive, including those of ended threads whose"
                + " buffers are still in flight", PageRunAllocatorMetric::threadCacheCount);
    }

    /** Removes the meters this binder registered, from every registry it was bound to. */
    @Override
    public void close() {
        meters.removeAll();
    }

    private void allocations(MeterRegistry registry, String kind,
                             ToDoubleFunction<PageRunAllocatorMetric> count) {
        meters.add(registry, FunctionCounter.builder(PREFIX + "allocations", metric, count)
                .description("Buffer allocations, by where they were served (kind: cache, arena, fallback, huge,"
                        + " overflow, heap)")
                .baseUnit("allocations")
                .tags(tags).tag("kind", kind)
                .register(registry));
    }

    private void releases(MeterRegistry registry, String kind,
                          ToDoubleFunction<PageRunAllocatorMetric> count) {
        meters.add(registry, FunctionCounter.builder(PREFIX + "releases", metric, count)
                .description("Regions of cached sizes released, by thread (kind: local, the allocating"
                        + " thread; remote, another thread)")
                .baseUnit("releases")
                .tags(tags).tag("kind", kind)
                .register(registry));
    }

    private void counter(MeterRegistry registry, String name, String unit, String description,
                         ToDoubleFunction<PageRunAllocatorMetric> count) {
        meters.add(registry, FunctionCounter.builder(PREFIX + name, metric, count)
                .description(description).baseUnit(unit).tags(tags).register(registry));
    }

    private void gauge(MeterRegistry registry, String name, String unit, String description,
                       ToDoubleFunction<PageRunAllocatorMetric> value) {
        meters.add(registry, Gauge.builder(PREFIX + name, metric, value)
                .description(description).baseUnit(unit).tags(tags).register(registry));
    }
}
