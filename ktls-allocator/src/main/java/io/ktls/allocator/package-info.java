/**
 * A page-run {@link io.netty.buffer.ByteBufAllocator}: {@link io.ktls.allocator.PageRunAllocator}, its read-only
 * {@link io.ktls.allocator.PageRunAllocatorMetric} and JMX view, and the policy at its memory limit. Everything
 * else is engine, package-private:
 * <ul>
 *   <li>{@code Slab}: one block of page-aligned direct memory and the boundary tags of its runs;</li>
 *   <li>{@code Arena}: free runs (best fit, coalescing), fragment pages, the run rate limit; one lock;</li>
 *   <li>{@code RunCache}: a thread's free lists, bounded in bytes, with lock-free return rings for frees from
 *       other threads ({@code ReturnRing});</li>
 *   <li>{@code Reclaimer}: the arena's background thread (orphaned caches, idle trimming, empty slabs);</li>
 *   <li>{@code PageRunBuf}: the buffer, which stays bound to its region while cached.</li>
 * </ul>
 * The memo on {@link io.ktls.allocator.PageRunAllocator} has the picture and the request routing; each engine
 * class documents its own protocol and which thread owns which field.
 */
package io.ktls.allocator;
