/**
 * The JMX face of the record layer's metrics: {@link io.ktls.handler.metrics.KtlsMetricMXBean}, registered as
 * {@code io.ktls:type=KtlsMetric} by {@link io.ktls.handler.KtlsMetric#registerMBean()}, with one
 * {@link io.ktls.handler.metrics.OffloadGroupStats} per live offload group. The counters themselves live in
 * {@link io.ktls.handler.KtlsMetric} and {@link io.ktls.handler.KtlsOffloadGroupMetric}; docs/operations.md says
 * what each one counts.
 */
package io.ktls.handler.metrics;
