package io.ktls.handler;

/**
 * Read-only view of one worker of a {@link KtlsOffloadGroup}.
 *
 * <p>Only the worker thread writes these counters (with release stores); any thread may read them.
 */
public interface KtlsOffloadWorkerMetric {

    /** Index of the worker in its group, from 0 to {@code workers() - 1}. */
    int index();

    /** Tasks queued on this worker and not started yet (the worker's queue depth). */
    long queuedTasks();

    /** Tasks this worker ran to completion, normally or by throwing. */
    long executedTasks();

    /** Tasks that threw out of {@code run()} on this worker. */
    long failedTasks();

    /** Wall-clock nanoseconds this worker spent draining its queue, i.e. not parked. */
    long busyNanos();

    /** True while the worker is draining its queue rather than parked waiting for work. */
    boolean isBusy();
}
