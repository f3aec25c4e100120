/**
 * JSON for {@code /_stats}, written without a JSON library.
 * <ul>
 *   <li>{@link io.ktls.examples.stats.JsonWriter}: a minimal streaming JSON writer;</li>
 *   <li>{@link io.ktls.examples.stats.MetricJson}: renders a read-only metric interface member by member (the
 *       allocator's), or a map of values (the handler's {@code KtlsMetric.toMap()}), so a counter added to the
 *       library shows up unasked;</li>
 *   <li>{@link io.ktls.examples.stats.AllocatorStats}: what any {@code ByteBufAllocator} says about itself.</li>
 * </ul>
 * Public for the other example packages; not API of the library. Threads: a writer belongs to the one thread
 * (the event loop answering {@code /_stats}) that renders a response; the metrics it reads are safe to read from
 * any thread.
 */
package io.ktls.examples.stats;
