/**
 * Micrometer meters for ktls-netty: {@link io.ktls.micrometer.KtlsAllocatorMetrics} for a page-run allocator,
 * {@link io.ktls.micrometer.KtlsRecordMetrics} for the TLS record layer and
 * {@link io.ktls.micrometer.KtlsOffloadMetrics} for an offload group.
 *
 * <p>Every meter is function-based: it reads the object's own counters when the registry is scraped, so binding
 * adds nothing to the allocation or record paths. A meter holds its object weakly (Micrometer's default): once
 * the allocator, stats or group is garbage, its meters read {@code NaN}; {@code close()} on a binder removes its
 * meters at once. Meter names, units and tags: docs/metrics.md.
 */
package io.ktls.micrometer;
