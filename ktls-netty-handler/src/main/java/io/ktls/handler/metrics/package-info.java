/**
 * The JMX face of the record layer's metrics. The counters themselves live in the public read-only interfaces
 * of {@code io.ktls.handler} ({@link io.ktls.handler.KtlsMetric}, {@link io.ktls.handler.KtlsOffloadGroupMetric},
 * {@link io.ktls.handler.KtlsOffloadWorkerMetric}); docs/operations.md says what each one counts. This package
 * only publishes them:
 * <ul>
 *   <li>{@link io.ktls.handler.metrics.KtlsMetricMXBean}: the JMX interface, one attribute per counter
 *       (public API: what a JMX client sees as {@code io.ktls:type=KtlsMetric});</li>
 *   <li>{@link io.ktls.handler.metrics.KtlsMetricBean}: its implementation over a {@code KtlsMetric},
 *       registered by {@link io.ktls.handler.KtlsMetric#registerMBean()} (use that, not this class);</li>
 *   <li>{@link io.ktls.handler.metrics.OffloadGroupStats}: a snapshot of one live offload group's workers, as a
 *       composite attribute.</li>
 * </ul>
 *
 * <p>Threads: JMX calls arrive on any thread. Every attribute read goes to the live counters, which are safe to
 * read from any thread; a snapshot is immutable and taken when the attribute is read, so it holds nothing
 * between reads.
 */
package io.ktls.handler.metrics;
