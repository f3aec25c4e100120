package io.ktls.micrometer;

import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsOffloadGroupMetric;
import io.ktls.handler.KtlsOffloadWorkerMetric;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Meters of one {@link KtlsOffloadGroup}, under {@code ktls.offload.*}: per worker (tag {@code worker}, its
 * index), the queue depth, the tasks run and failed and the time spent running them; for the group, its workers
 * and how many are busy now. Tagged {@code group=}{@link KtlsOffloadGroupMetric#name()}.
 *
 * <pre>{@code
 * KtlsOffloadMetrics offloadMetrics = new KtlsOffloadMetrics(group);
 * offloadMetrics.bindTo(registry);
 * ...
 * group.shutdownGracefully();
 * offloadMetrics.close();   // the group's meters leave the registry
 * }</pre>
 *
 * <p>A worker's busy time ({@code ktls.offload.busy.time}, seconds) grows by up to one second per second;
 * {@code rate()} of it is the worker's utilization, the figure to watch before adding workers.
 *
 * <p>Threads: bind and close from any thread. The meters read the counters the workers publish with release
 * stores, when scraped, and hold the group's metric weakly.
 */
public final class KtlsOffloadMetrics implements MeterBinder, AutoCloseable {

    private static final String PREFIX = "ktls.offload.";
    private static final String TASKS = "tasks";

    private final KtlsOffloadGroupMetric metric;
    private final Tags tags;
    private final RegisteredMeters meters = new RegisteredMeters();

    /** Meters of {@code group}. */
    public KtlsOffloadMetrics(KtlsOffloadGroup group) {
        this(group.metric(), Tags.empty());
    }

    /** Meters of {@code metric} (a group's {@link KtlsOffloadGroup#metric()}), tagged with {@code tags} too. */
    public KtlsOffloadMetrics(KtlsOffloadGroupMetric metric, Iterable<Tag> tags) {
        this.metric = Objects.requireNonNull(metric, "metric");
        this.tags = Tags.of("group", metric.name()).and(Objects.requireNonNull(tags, "tags"));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        meters.add(registry, Gauge.builder(PREFIX + "workers", metric, KtlsOffloadGroupMetric::workers)
                .description("Worker threads of the offload group").baseUnit("workers").tags(tags)
                .register(registry));
        meters.add(registry, Gauge.builder(PREFIX + "busy.workers", metric, KtlsOffloadMetrics::busyWorkers)
                .description("Workers draining their queue now rather than parked").baseUnit("workers").tags(tags)
                .register(registry));

        for (KtlsOffloadWorkerMetric worker : metric.workerMetrics()) {
            // The worker's metric is the meters' object: the group's metric holds it as long as the group lives.
            Tags workerTags = tags.and("worker", Integer.toString(worker.index()));
            meters.add(registry, Gauge.builder(PREFIX + "queued.tasks", worker, KtlsOffloadWorkerMetric::queuedTasks)
                    .description("Tasks queued on the worker and not started yet (its queue depth)")
                    .baseUnit(TASKS).tags(workerTags).register(registry));
            meters.add(registry, FunctionCounter.builder(PREFIX + "executed.tasks", worker,
                            KtlsOffloadWorkerMetric::executedTasks)
                    .description("Tasks the worker ran to completion, normally or by throwing")
                    .baseUnit(TASKS).tags(workerTags).register(registry));
            meters.add(registry, FunctionCounter.builder(PREFIX + "failed.tasks", worker,
                            KtlsOffloadWorkerMetric::failedTasks)
                    .description("Tasks that threw out of run() on the worker (logged; the worker carried on)")
                    .baseUnit(TASKS).tags(workerTags).register(registry));
            meters.add(registry, FunctionCounter.builder(PREFIX + "busy.time", worker, KtlsOffloadMetrics::busySeconds)
                    .description("Time the worker spent draining its queue rather than parked")
                    .baseUnit("seconds").tags(workerTags).register(registry));
        }
    }

    /** Removes the meters this binder registered, from every registry it was bound to. */
    @Override
    public void close() {
        meters.removeAll();
    }

    private static double busyWorkers(KtlsOffloadGroupMetric group) {
        int busy = 0;
        for (KtlsOffloadWorkerMetric worker : group.workerMetrics()) {
            if (worker.isBusy()) {
                busy++;
            }
        }
        return busy;
    }

    private static double busySeconds(KtlsOffloadWorkerMetric worker) {
        return worker.busyNanos() / (double) TimeUnit.SECONDS.toNanos(1);
    }
}
