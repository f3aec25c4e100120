/**
 * A page-run {@link io.netty.buffer.ByteBufAllocator}: direct memory reserved in slabs, cut into 4 KiB pages,
 * handed out as runs of whole pages or fragments of a page. This note is the map of the package; each class's
 * Javadoc has its own protocol and says which thread owns which field.
 *
 * <h2>Classes</h2>
 * Public: {@link io.ktls.allocator.PageRunAllocator} (the allocator and its {@code Builder}, the one home of the
 * options), {@link io.ktls.allocator.PageRunAllocatorMetric} (read-only counters),
 * {@link io.ktls.allocator.PageRunAllocatorMXBean} (their JMX view) and
 * {@link io.ktls.allocator.MaxMemoryPolicy}. The engine is package-private:
 * <table>
 *   <caption>Engine classes</caption>
 *   <tr><th>class</th><th>job</th><th>threads</th></tr>
 *   <tr><td>{@code SizeClasses}</td><td>request size to class, region bytes and refill batch per class</td>
 *       <td>immutable</td></tr>
 *   <tr><td>{@code ThreadCaches}</td><td>which cache and arena serve the calling thread</td>
 *       <td>each thread its own thread-local</td></tr>
 *   <tr><td>{@code RunCache}</td><td>one thread's free lists, bounded in bytes</td><td>owner thread; the
 *       reclaim thread or a reaper only through the state word</td></tr>
 *   <tr><td>{@code ReturnRing}</td><td>the way home of one class of one cache: a ring of slots, then a stack</td>
 *       <td>any thread frees (CAS); owner or a drainer takes (try-lock)</td></tr>
 *   <tr><td>{@code Arena}</td><td>slabs, free runs (best fit, coalescing), fragment pages</td>
 *       <td>its lock</td></tr>
 *   <tr><td>{@code Depot}, {@code RunBackOff}</td><td>the arena's parked spilled runs; its per-size back-off</td>
 *       <td>the arena lock</td></tr>
 *   <tr><td>{@code Slab}, {@code FragmentPage}</td><td>one block of memory and its boundary tags; one page cut
 *       into fragments</td><td>the arena lock</td></tr>
 *   <tr><td>{@code Reclaimer}</td><td>the arena's background thread: orphaned and idle caches, depot, empty
 *       slabs</td><td>its own thread</td></tr>
 *   <tr><td>{@code ArenaCounters}, {@code ArenaSnapshot}, {@code AllocatorMetric}</td><td>an arena's counters and
 *       retire seqlock; one reading of them; their sum over arenas</td><td>written under the arena lock or the
 *       retire lock; read by any thread</td></tr>
 *   <tr><td>{@code MemoryLimit}, {@code UnpooledMemory}, {@code FallbackPolicy}</td><td>the allocator-wide
 *       bound of slab memory; huge and overflow buffers; what a request gets when no region can be had</td>
 *       <td>any thread, atomics</td></tr>
 *   <tr><td>{@code PageRunBuf}</td><td>the buffer, bound to its region while cached</td><td>whoever holds a
 *       reference; the thread that drops the count to zero sends it home</td></tr>
 * </table>
 *
 * <h2>Threads</h2>
 * Any thread allocates and releases. Event loops and {@code FastThreadLocalThread}s get a {@code RunCache} bound
 * to one arena for life; other threads use the arena their id maps to, under its lock. One reclaim thread per
 * arena does the slow work no allocating thread should wait for. Nothing is ever freed into another arena.
 *
 * <h2>Life of a run</h2>
 * <ol>
 *   <li><b>Reserve</b>: an arena whose search missed reserves a slab under the {@code MemoryLimit} and takes its
 *       memory from the JVM outside its lock; the slab becomes one free run.</li>
 *   <li><b>Carve</b>: a cache miss refills a batch under the arena lock, from the depot first, else best fit
 *       from the free runs; each run is a {@code PageRunBuf} whose {@code home} is the cache's
 *       {@code ReturnRing} of its class.</li>
 *   <li><b>Hand out</b>: the owner pops it off its private list, counts the allocation and the allocator
 *       wraps it for the leak detector.</li>
 *   <li><b>Release</b>: on the owner thread, back on the private list (or to the arena over the bound); on
 *       another thread, into a slot of the return ring, taken back by the owner on its next miss.</li>
 *   <li><b>Spill</b>: what a cache cannot keep is parked whole in the arena's depot for the next refill.</li>
 *   <li><b>Coalesce and return</b>: the reclaim thread coalesces depot runs no refill needed for an interval
 *       into the free runs, and gives entirely free slabs back to the operating system; a cache whose owner
 *       ended goes home and is retired, its counts folded into its arena's counters.</li>
 * </ol>
 */
package io.ktls.allocator;
