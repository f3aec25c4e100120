package io.ktls.handler;

import java.util.List;

/**
 * Read-only view of a {@link KtlsOffloadGroup}: its workers' queues and how much they ran.
 *
 * <p>Every getter reads counters that workers publish with release semantics; a snapshot taken while
 * the group runs is a consistent value per counter, not across counters.
 */
public interface KtlsOffloadGroupMetric {

    /** The group's name, unique in this JVM (e.g. {@code ktls-offload-group-0}); also its JMX key. */
    String name();

    /** Number of worker threads, fixed at construction. */
    int workers();

    /** One view per worker, in worker index order. */
    List<KtlsOffloadWorkerMetric> workerMetrics();

    /** Tasks queued on all workers and not started yet. */
    long queuedTasks();

    /** Tasks run to completion (normally or by throwing) on all workers since the group started. */
    long executedTasks();

    /** Tasks that threw out of {@code run()} on any worker; each was logged and its worker carried on. */
    long failedTasks();

    /** True once {@link KtlsOffloadGroup#shutdownGracefully()} was called. */
    boolean isShuttingDown();

    /** True once every worker thread has run its last task and ended. */
    boolean isTerminated();
}
