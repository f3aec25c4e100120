package io.ktls.handler.metrics;

import io.ktls.handler.KtlsOffloadGroupMetric;
import io.ktls.handler.KtlsOffloadWorkerMetric;

import java.util.List;

/**
 * A snapshot of one {@link io.ktls.handler.KtlsOffloadGroup}'s workers, as JMX shows it (a composite whose
 * array items are indexed by worker). Immutable; taken when the attribute is read.
 */
public final class OffloadGroupStats {

    private final String name;
    private final boolean shuttingDown;
    private final long[] queuedTasks;
    private final long[] executedTasks;
    private final long[] failedTasks;
    private final long[] busyNanos;

    OffloadGroupStats(KtlsOffloadGroupMetric group) {
        List<KtlsOffloadWorkerMetric> workers = group.workerMetrics();
        this.name = group.name();
        this.shuttingDown = group.isShuttingDown();
        this.queuedTasks = new long[workers.size()];
        this.executedTasks = new long[workers.size()];
        this.failedTasks = new long[workers.size()];
        this.busyNanos = new long[workers.size()];
        for (int i = 0; i < workers.size(); i++) {
            KtlsOffloadWorkerMetric worker = workers.get(i);
            queuedTasks[i] = worker.queuedTasks();
            executedTasks[i] = worker.executedTasks();
            failedTasks[i] = worker.failedTasks();
            busyNanos[i] = worker.busyNanos();
        }
    }

    /** The group's name, e.g. {@code ktls-offload-group-0}. */
    public String getName() {
        return name;
    }

    /** Number of workers. */
    public int getWorkers() {
        return queuedTasks.length;
    }

    /** True once the group was asked to shut down. */
    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Queue depth of each worker. */
    public long[] getQueuedTasks() {
        return queuedTasks.clone();
    }

    /** Tasks each worker ran. */
    public long[] getExecutedTasks() {
        return executedTasks.clone();
    }

    /** Tasks that threw on each worker. */
    public long[] getFailedTasks() {
        return failedTasks.clone();
    }

    /** Nanoseconds each worker spent running tasks rather than parked. */
    public long[] getBusyNanos() {
        return busyNanos.clone();
    }
}
