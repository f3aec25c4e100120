package io.ktls.allocator;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.ObjectUtil;
import io.netty.util.internal.PlatformDependent;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * A {@link io.netty.buffer.ByteBufAllocator} of page runs: direct memory reserved in slabs, carved into 4 KiB pages,
 * handed out as runs of n contiguous, page-aligned pages (one TLS record payload of 16 KiB is a run of 4 pages,
 * the hot size) or as fragments of a page for small requests. It is the JVM counterpart of FreeBSD's KTLS buffer
 * zone and Linux's page_pool, and serves any Netty pipeline as {@code ChannelOption.ALLOCATOR}.
 *
 * <pre>
 *  thread A (event loop)            thread B (offload worker)
 *  ┌──────────────────────┐         release(buf of A) ──────────┐
 *  │ RunCache A           │                                      │ claim a slot (CAS)
 *  │  64 B .. 2 KiB frags │  ◄── on a miss, in order ──── return ring of A's list
 *  │  1 .. 16 page runs   │
 *  └──────┬───────────────┘
 *         │ refill / spill (arena lock, batched)
 *  ┌──────▼─────────────────────────────────────────────────┐   wake after a failure, or timer
 *  │ Arena 0: free runs (best fit), fragment pages, slabs   │ ◄── Reclaimer 0: drain, trim idle caches,
 *  │  slab: [run 4p][frag page][ free 3p ][run 16p] ...     │     return empty slabs to the OS
 *  └────────────────────────────────────────────────────────┘
 *  Arena 1 ... (threads are spread over arenas; a region always goes home to the arena it came from)
 * </pre>
 *
 * <h2>Request routing</h2>
 * <ol>
 *   <li>≤ 2 KiB: a fragment ({@code 64 << k} bytes); ≤ {@code maxCachedRunPages} pages: a run; both from the
 *       thread's cache, refilled from its arena.</li>
 *   <li>≤ {@code maxRunPages} pages: a run straight from the arena.</li>
 *   <li>larger: unpooled direct memory of its own (a huge buffer), counted.</li>
 *   <li>No contiguous run (fragmentation, memory limit): the {@link MaxMemoryPolicy} (counted overflow memory by
 *       default). Every buffer is one region, as Netty's consumers assume ({@code SslHandler} writes through a
 *       buffer's NIO view). Only a pool built with {@link Builder#compositeFallback(boolean) compositeFallback}
 *       first gives a multi-page {@code directBuffer} a {@link io.netty.buffer.CompositeByteBuf} of single pages
 *       (counted; further run attempts are rate-limited).</li>
 *   <li>Heap buffers: Netty's unpooled heap buffers, counted.</li>
 * </ol>
 *
 * <h2>Release</h2>
 * A buffer released on the thread that allocated it goes back on that thread's cache; released anywhere else,
 * it is stored in the return ring of its origin cache (one CAS to claim a slot, no lock; a linked stack when the
 * ring is full) and taken back by the owner on its next miss, page_pool style. Nothing is ever freed into a
 * different arena.
 *
 * <p>This class is the front door: it routes each request (sizes: {@link SizeClasses}; which cache and arena:
 * {@link ThreadCaches}; no region: {@link FallbackPolicy}; huge and overflow: {@link UnpooledMemory}), hands out
 * leak-tracked buffers, and owns the lifecycle (reclaim threads, MBean, close). Options: {@link Builder}.
 *
 * <p>Threads: the allocator is shared by all threads and holds no mutable state of its own besides atomic counters
 * and the closed flag; per-thread state lives in {@link RunCache} (event loops and {@code FastThreadLocalThread}s
 * only; other threads allocate from an arena directly), shared state in {@link Arena} (behind its lock) and in
 * {@link MemoryLimit}. Metrics ({@link AllocatorMetric}) add up each arena's {@link ArenaCounters}, read around
 * the arena's retire seqlock, so a cache retiring meanwhile is counted exactly once.
 */
public final class PageRunAllocator extends AbstractByteBufAllocator
        implements ByteBufAllocatorMetricProvider, AutoCloseable {

    /** Page size: the unit of runs. 4 KiB, as the kernel page the design mirrors. */
    public static final int PAGE_BYTES = 4096;

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(PageRunAllocator.class);
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final String name;
    private final Arena[] arenas;
    private final int maxRunPages;
    /** Whether a multi-page {@code directBuffer} may become a composite of single pages (the builder's option). */
    private final boolean compositeFallback;
    private final SizeClasses classes;
    private final FallbackPolicy fallback;
    final long runRetryIntervalNanos;
    final long reclaimIntervalNanos;
    final int maxReclaimRegionsPerPass;
    private final LongSupplier nanoClock;
    /** Shared with the arenas, which reserve their slabs under it. */
    final MemoryLimit memoryLimit;
    private final ThreadCaches threadCaches;
    private final UnpooledMemory unpooled = new UnpooledMemory();
    private final AtomicLong fallbackAllocations = new AtomicLong();
    private final AtomicLong heapAllocations = new AtomicLong();
    private final AllocatorMetric metric;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile ObjectName mbeanName;

    /** A shared instance with the default configuration, created on first use. */
    public static PageRunAllocator shared() {
        return SharedHolder.SHARED;
    }

    private static final class SharedHolder {
        static final PageRunAllocator SHARED = builder().name("shared").build();
    }

    public static Builder builder() {
        return new Builder();
    }

    private PageRunAllocator(Builder b) {
        super(true);
        name = b.name != null ? b.name : "page-runs-" + INSTANCES.incrementAndGet();
        maxRunPages = b.maxRunPages;
        compositeFallback = b.compositeFallback;
        classes = new SizeClasses(b.maxCachedRunPages, b.cacheRefillBytes);
        runRetryIntervalNanos = b.runRetryIntervalNanos;
        reclaimIntervalNanos = b.reclaimIntervalNanos;
        maxReclaimRegionsPerPass = b.maxReclaimRegionsPerPass;
        nanoClock = b.nanoClock;
        memoryLimit = new MemoryLimit(b.maxMemoryBytes, b.slabMemory);
        arenas = new Arena[b.arenas];
        for (int i = 0; i < arenas.length; i++) {
            arenas[i] = new Arena(this, i, b.slabBytes / PAGE_BYTES, maxRunPages, b.maxCachedRunPages,
                    b.maxCachedBytesPerThread > 0);
        }
        threadCaches = new ThreadCaches(arenas, b.cacheAllThreads, b.maxCachedBytesPerThread, classes);
        fallback = new FallbackPolicy(this, b.maxMemoryPolicy, memoryLimit, unpooled, fallbackAllocations);
        metric = new AllocatorMetric(arenas, memoryLimit, unpooled, fallbackAllocations, heapAllocations);
        if (b.reclaimThreads) {
            for (Arena arena : arenas) {
                arena.reclaimer.start("ktls-reclaim-" + name + "-" + arena.index);
            }
        }
        logger.debug("PageRunAllocator '{}': arenas={}, slabBytes={}, maxMemoryBytes={}, maxRunPages={}, "
                        + "maxCachedRunPages={}, maxCachedBytesPerThread={}, cacheRefillBytes={}, maxMemoryPolicy={}, "
                        + "runRetryIntervalNanos={}, reclaimIntervalNanos={}, maxReclaimRegionsPerPass={}, "
                        + "reclaimThreads={}, cacheAllThreads={}, compositeFallback={}, leakDetection={}",
                name, arenas.length, b.slabBytes, b.maxMemoryBytes, maxRunPages, b.maxCachedRunPages,
                b.maxCachedBytesPerThread, b.cacheRefillBytes, b.maxMemoryPolicy, runRetryIntervalNanos,
                reclaimIntervalNanos, maxReclaimRegionsPerPass, b.reclaimThreads, b.cacheAllThreads,
                compositeFallback, io.netty.util.ResourceLeakDetector.getLevel());
        if (b.registerMBean) {
            registerMBean();
        }
    }

    public String name() {
        return name;
    }

    long nanoTime() {
        return nanoClock.getAsLong();
    }

    // ---- allocation ----------------------------------------------------------------------------------------

    /**
     * One region, unless the pool was built with {@link Builder#compositeFallback(boolean) compositeFallback}: then
     * a multi-page request that finds no free run gets a composite of single pages.
     */
    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        // Every buffer handed out is leak-tracked: pooled, composite and overflow alike.
        return toLeakAwareBuffer(regionOrFallback(initialCapacity, maxCapacity, compositeFallback));
    }

    /**
     * The memory a request of {@code capacity} bytes takes from the pool: a fragment of {@code 64 << k} bytes up
     * to 2 KiB, whole 4 KiB pages above. A caller choosing between one buffer and several can compare them.
     */
    public static int regionBytes(int capacity) {
        ObjectUtil.checkPositiveOrZero(capacity, "capacity");
        int sizeClass = SizeClasses.sizeClass(capacity);
        return SizeClasses.isFragment(sizeClass) ? SizeClasses.fragmentBytes(sizeClass)
                : SizeClasses.pagesFor(capacity) * PAGE_BYTES;
    }

    /**
     * A direct buffer for a library's own short-lived memory, which never reaches application code: a TLS record
     * that a handler seals and the transport frees after the write, say.
     * <ul>
     *   <li><b>One region, like {@link #ioBuffer(int, int)}:</b> never a composite of single pages, even in a pool
     *       built with {@link Builder#compositeFallback(boolean) compositeFallback}, because such memory is written
     *       through its NIO view (a cipher's output, a file read), and the view of a composite of several pages is
     *       a copy: what is written there never reaches the buffer. When no run is free the
     *       {@link MaxMemoryPolicy} applies.</li>
     *   <li><b>Leak-tracked only at {@link ResourceLeakDetector.Level#PARANOID}.</b> At the sampling levels a
     *       record stream pays for a stack trace at every sampled allocation and release (2 to 5% of a TLS file
     *       server's CPU), and a trace of the library's own code would tell an application nothing; Netty's
     *       thread-local direct buffers are untracked for the same reason. A buffer that does leak still shows in
     *       the allocator's counters, and test suites running at {@code PARANOID} see it reported.</li>
     * </ul>
     */
    public ByteBuf internalDirectBuffer(int initialCapacity, int maxCapacity) {
        ByteBuf buf = untracked(initialCapacity, maxCapacity, false);
        return ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.PARANOID ? tracked(buf) : buf;
    }

    /** Transport read buffers must be contiguous (epoll reads into one address): no composite fallback. */
    @Override
    public ByteBuf ioBuffer(int initialCapacity, int maxCapacity) {
        return tracked(untracked(initialCapacity, maxCapacity, false));
    }

    /** The shared empty buffer is never released, so it is never tracked. */
    private ByteBuf tracked(ByteBuf buf) {
        return buf.maxCapacity() == 0 ? buf : toLeakAwareBuffer(buf);
    }

    /** A checked request's buffer, not yet leak-tracked: a region, or what the fallback gives. */
    private ByteBuf untracked(int initialCapacity, int maxCapacity, boolean compositeAllowed) {
        if (initialCapacity == 0 && maxCapacity == 0) {
            return directBuffer(0, 0);
        }
        ObjectUtil.checkPositiveOrZero(initialCapacity, "initialCapacity");
        if (initialCapacity > maxCapacity) {
            throw new IllegalArgumentException(
                    "initialCapacity: " + initialCapacity + " (expected: <= maxCapacity " + maxCapacity + ")");
        }
        return regionOrFallback(initialCapacity, maxCapacity, compositeAllowed);
    }

    /** A region for a checked request, or what the fallback gives; not leak-tracked. */
    private ByteBuf regionOrFallback(int capacity, int maxCapacity, boolean compositeAllowed) {
        PageRunBuf buf = allocateRegion(capacity, maxCapacity, compositeAllowed);
        return buf != null ? buf : exhausted(capacity, maxCapacity, compositeAllowed);
    }

    @Override
    public ByteBuf ioBuffer(int initialCapacity) {
        return ioBuffer(initialCapacity, Integer.MAX_VALUE);
    }

    @Override
    public ByteBuf ioBuffer() {
        return ioBuffer(256, Integer.MAX_VALUE);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        heapAllocations.incrementAndGet();
        return toLeakAwareBuffer(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    public boolean isDirectBufferPooled() {
        return true;
    }

    /**
     * A pooled or huge region, or null when the pool is exhausted for this request. {@code mayBackOff}: the caller
     * can fall back to single pages, so a size backing off after a failure may skip the slow steps of a search.
     */
    private PageRunBuf allocateRegion(int capacity, int maxCapacity, boolean mayBackOff) {
        if (closed.get()) {
            throw new IllegalStateException("PageRunAllocator '" + name + "' is closed");
        }
        int sizeClass = SizeClasses.sizeClass(capacity);
        int pages = SizeClasses.pagesFor(capacity);
        if (pages > maxRunPages) {
            return unpooled.allocate(this, capacity, maxCapacity, PageRunBuf.ORIGIN_HUGE);
        }
        RunCache cache = threadCaches.cacheOrNull();
        PageRunBuf buf;
        if (cache != null && sizeClass < classes.cachedClasses) {
            buf = cache.allocate(sizeClass, mayBackOff);
        } else {
            Arena arena = threadCaches.arenaOf(cache);
            buf = SizeClasses.isFragment(sizeClass) ? arena.allocateFragmentUncached(sizeClass)
                    : arena.allocateUncached(pages, PageRunBuf.ORIGIN_ARENA, mayBackOff);
        }
        return buf == null ? null : buf.init(capacity, maxCapacity);
    }

    /** No region for this request: see {@link FallbackPolicy}. The result is not yet leak-tracked. */
    private ByteBuf exhausted(int capacity, int maxCapacity, boolean compositeAllowed) {
        Arena arena = threadCaches.arenaOf(threadCaches.existingCacheOrNull());
        return fallback.exhausted(arena, capacity, maxCapacity, compositeAllowed);
    }

    /** Called by {@link PageRunBuf#deallocate()} for regions that belong to no cache. */
    void freeUncached(PageRunBuf buf) {
        switch (buf.origin) {
            case PageRunBuf.ORIGIN_HUGE:
            case PageRunBuf.ORIGIN_OVERFLOW:
                unpooled.free(buf);
                break;
            default:
                buf.arena.freeUncached(buf);
        }
    }

    /** Moves {@code buf}'s content into a larger region (contiguous, never a composite). */
    void grow(PageRunBuf buf, int newCapacity) {
        PageRunBuf bigger = allocateRegion(newCapacity, Integer.MAX_VALUE, false);
        if (bigger == null) {
            bigger = fallback.atLimit(newCapacity, Integer.MAX_VALUE);
        }
        buf.copyRegionTo(bigger, buf.capacity());
        buf.swapBinding(bigger);
        // bigger now holds the old region and takes it home.
        bigger.release();
    }

    // ---- bulk ----------------------------------------------------------------------------------------------

    /**
     * Allocates {@code count} buffers of {@code runPages} pages each into {@code out[offset ..]}, taking the
     * thread's cache once. A slot that finds no free run gets what {@code directBuffer} would give (the
     * {@link MaxMemoryPolicy}, or single pages with {@link Builder#compositeFallback}). Returns the number
     * allocated: {@code count}, or fewer only under {@link MaxMemoryPolicy#FAIL} at the memory limit (the caller
     * owns the buffers that were allocated).
     */
    public int allocateRuns(int runPages, ByteBuf[] out, int offset, int count) {
        if (runPages <= 0 || runPages > maxRunPages) {
            throw new IllegalArgumentException("runPages: " + runPages + " (expected: 1.." + maxRunPages + ")");
        }
        ObjectUtil.checkNotNull(out, "out");
        if (offset < 0 || count < 0 || offset + count > out.length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", count " + count + ", length " + out.length);
        }
        if (closed.get()) {
            throw new IllegalStateException("PageRunAllocator '" + name + "' is closed");
        }
        int runBytes = runPages * PAGE_BYTES;
        int sizeClass = SizeClasses.runClass(runPages);
        RunCache cache = threadCaches.cacheOrNull();
        Arena arena = threadCaches.arenaOf(cache);
        for (int i = 0; i < count; i++) {
            PageRunBuf buf = cache != null && sizeClass < classes.cachedClasses
                    ? cache.allocate(sizeClass, compositeFallback)
                    : arena.allocateUncached(runPages, PageRunBuf.ORIGIN_ARENA, compositeFallback);
            if (buf != null) {
                out[offset + i] = toLeakAwareBuffer(buf.init(runBytes, Integer.MAX_VALUE));
            } else {
                try {
                    out[offset + i] = toLeakAwareBuffer(exhausted(runBytes, Integer.MAX_VALUE, compositeFallback));
                } catch (OutOfMemoryError e) {
                    return i;
                }
            }
        }
        return count;
    }

    /** Releases {@code bufs[offset .. offset + count)} (null slots are skipped) and clears the slots. */
    public void releaseAll(ByteBuf[] bufs, int offset, int count) {
        for (int i = offset; i < offset + count; i++) {
            ByteBuf buf = bufs[i];
            if (buf != null) {
                bufs[i] = null;
                buf.release();
            }
        }
    }

    // ---- memory limit, reclaim, lifecycle ------------------------------------------------------------------

    /** Gives this thread's cached regions back to its arena now (for example before the thread goes idle). */
    public void trimCurrentThreadCache() {
        threadCaches.trimCurrentThread();
    }

    Arena[] arenas() {
        return arenas;
    }

    /** The arena serving the calling thread (tests). */
    Arena currentArena() {
        return threadCaches.arenaOf(threadCaches.cacheOrNull());
    }

    /**
     * Registers the {@link PageRunAllocatorMXBean} with the platform MBean server (idempotent) and returns its
     * name.
     */
    public synchronized ObjectName registerMBean() {
        if (mbeanName == null) {
            try {
                ObjectName objectName = new ObjectName("io.ktls.allocator:type=PageRunAllocator,name="
                        + ObjectName.quote(name));
                MBeanServer server = ManagementFactory.getPlatformMBeanServer();
                server.registerMBean(new StandardMBean(new MetricMXBean(metric), PageRunAllocatorMXBean.class, true),
                        objectName);
                mbeanName = objectName;
            } catch (JMException e) {
                throw new IllegalStateException("cannot register MBean of PageRunAllocator '" + name + "'", e);
            }
        }
        return mbeanName;
    }

    /**
     * Stops the reclaim threads, unregisters the MBean and frees the slabs that are entirely free; a slab that still
     * has buffers in flight is freed when its last one comes back (or by the garbage collector). Allocating after
     * close throws {@link IllegalStateException}; releasing buffers keeps working.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (Arena arena : arenas) {
            arena.reclaimer.stop();
        }
        trimCurrentThreadCache();
        for (Arena arena : arenas) {
            for (RunCache cache : arena.caches) {
                // From now on frees bypass private lists and reach the (closing) arena, which frees each slab
                // once it is empty; regions already on a live thread's private list go with that thread.
                cache.close();
                cache.drainReturned();
                if (!cache.owner.isAlive()) {
                    cache.reap();
                }
            }
            arena.close();
        }
        synchronized (this) {
            if (mbeanName != null) {
                try {
                    ManagementFactory.getPlatformMBeanServer().unregisterMBean(mbeanName);
                } catch (JMException e) {
                    logger.debug("cannot unregister {}", mbeanName, e);
                }
                mbeanName = null;
            }
        }
    }

    @Override
    public PageRunAllocatorMetric metric() {
        return metric;
    }

    @Override
    public String toString() {
        return "PageRunAllocator(" + name + ", reserved " + memoryLimit.reservedBytes() + "/" + memoryLimit.maxBytes()
                + " bytes, in flight "
                + metric.inFlightBytes() + " bytes)";
    }

    // ---- configuration -------------------------------------------------------------------------------------

    /**
     * Configuration of a {@link PageRunAllocator}: the one place its options are documented. Every option has a
     * default that suits a TLS file server on a few cores; sizes are in bytes, times in nanoseconds. The effective
     * values are logged once per allocator at debug level.
     *
     * <table>
     *   <caption>Options</caption>
     *   <tr><th>option</th><th>unit</th><th>default</th><th>why</th></tr>
     *   <tr><td>{@link #name(String) name}</td><td></td><td>{@code page-runs-<n>}</td>
     *       <td>names logs, reclaim threads and the MBean</td></tr>
     *   <tr><td>{@link #arenas(int) arenas}</td><td>arenas</td><td>available processors</td>
     *       <td>one per core, as the kernel's per-CPU caches: threads spread over them, so arena locks are rarely
     *       contended</td></tr>
     *   <tr><td>{@link #slabBytes(int) slabBytes}</td><td>bytes, a multiple of 4 KiB</td><td>1 MiB</td>
     *       <td>holds four of the largest runs; the step in which memory is taken from and returned to the operating
     *       system, so a quiet server holds little</td></tr>
     *   <tr><td>{@link #maxMemoryBytes(long) maxMemoryBytes}</td><td>bytes</td><td>half the JVM's direct memory
     *       limit, at most 1 GiB, rounded down to whole slabs</td>
     *       <td>bound of slab memory over all arenas, leaving the JVM room for everything else that uses direct
     *       memory</td></tr>
     *   <tr><td>{@link #maxRunPages(int) maxRunPages}</td><td>pages</td><td>64 (256 KiB)</td>
     *       <td>largest run served from slabs; larger requests are rare and get unpooled memory of their own</td></tr>
     *   <tr><td>{@link #maxCachedRunPages(int) maxCachedRunPages}</td><td>pages</td><td>16 (64 KiB)</td>
     *       <td>largest run kept in thread caches: covers TLS records (4 pages) and the largest socket read Netty's
     *       adaptive receive sizing asks for</td></tr>
     *   <tr><td>{@link #maxCachedBytesPerThread(long) maxCachedBytesPerThread}</td><td>bytes</td><td>1 MiB (64
     *       record runs)</td>
     *       <td>bound of each thread cache; 0 disables caching</td></tr>
     *   <tr><td>{@link #cacheRefillBytes(int) cacheRefillBytes}</td><td>bytes</td><td>128 KiB (8 record runs)</td>
     *       <td>taken from the arena per refill: amortises the arena lock without hoarding</td></tr>
     *   <tr><td>{@link #maxMemoryPolicy(MaxMemoryPolicy) maxMemoryPolicy}</td><td></td><td>{@link
     *       MaxMemoryPolicy#OVERFLOW_UNPOOLED}</td>
     *       <td>an event loop never blocks or fails at the limit</td></tr>
     *   <tr><td>{@link #compositeFallback(boolean) compositeFallback}</td><td></td><td>false</td>
     *       <td>every buffer is one region, as Netty's allocators give; see the method</td></tr>
     *   <tr><td>{@link #runRetryIntervalNanos(long) runRetryIntervalNanos}</td><td>ns</td><td>1 s</td>
     *       <td>with {@code compositeFallback}, after a multi-page run could not be found, further run attempts of
     *       that size skip their slow steps this long (single pages instead); FreeBSD's value</td></tr>
     *   <tr><td>{@link #reclaimIntervalNanos(long) reclaimIntervalNanos}</td><td>ns</td><td>1 s</td>
     *       <td>timer of the reclaim threads; a cache that did not allocate during a whole interval is
     *       trimmed</td></tr>
     *   <tr><td>{@link #maxReclaimRegionsPerPass(int) maxReclaimRegionsPerPass}</td><td>regions</td><td>1024</td>
     *       <td>work bound of one reclaim pass; FreeBSD's {@code max_reclaim}</td></tr>
     *   <tr><td>{@link #reclaimThreads(boolean) reclaimThreads}</td><td></td><td>true</td>
     *       <td>one daemon thread per arena does the slow work (orphaned and idle caches, depot, empty slabs)</td></tr>
     *   <tr><td>{@link #cacheAllThreads(boolean) cacheAllThreads}</td><td></td><td>false</td>
     *       <td>caches for event loops and {@code FastThreadLocalThread}s only; see the method</td></tr>
     *   <tr><td>{@link #registerMBean(boolean) registerMBean}</td><td></td><td>false</td>
     *       <td>registers {@code io.ktls.allocator:type=PageRunAllocator,name=<name>} at build time</td></tr>
     * </table>
     */
    public static final class Builder {
        private String name;
        private int arenas = Math.max(1, Runtime.getRuntime().availableProcessors());
        private int slabBytes = 1 << 20;
        private long maxMemoryBytes = -1;
        private int maxRunPages = 64;
        private int maxCachedRunPages = 16;
        private long maxCachedBytesPerThread = 1 << 20;
        private int cacheRefillBytes = 128 << 10;
        private MaxMemoryPolicy maxMemoryPolicy = MaxMemoryPolicy.OVERFLOW_UNPOOLED;
        private long runRetryIntervalNanos = TimeUnit.SECONDS.toNanos(1);
        private long reclaimIntervalNanos = TimeUnit.SECONDS.toNanos(1);
        private int maxReclaimRegionsPerPass = 1024;
        private boolean reclaimThreads = true;
        private boolean registerMBean;
        private boolean cacheAllThreads;
        private boolean compositeFallback;
        private LongSupplier nanoClock = System::nanoTime;
        private IntFunction<ByteBuffer> slabMemory = DirectMemory::allocate;

        private Builder() {
        }

        /** Name used in logs, thread names and the MBean. */
        public Builder name(String name) {
            this.name = ObjectUtil.checkNonEmpty(name, "name");
            return this;
        }

        /** Number of arenas threads are spread over. */
        public Builder arenas(int arenas) {
            this.arenas = ObjectUtil.checkPositive(arenas, "arenas");
            return this;
        }

        /** Size of one slab of direct memory, a multiple of 4 KiB. */
        public Builder slabBytes(int slabBytes) {
            if (slabBytes <= 0 || slabBytes % PAGE_BYTES != 0) {
                throw new IllegalArgumentException("slabBytes: " + slabBytes + " (expected: a positive multiple of "
                        + PAGE_BYTES + ")");
            }
            this.slabBytes = slabBytes;
            return this;
        }

        /** Limit of direct memory in slabs, over all arenas; at least one slab. */
        public Builder maxMemoryBytes(long maxMemoryBytes) {
            this.maxMemoryBytes = ObjectUtil.checkPositive(maxMemoryBytes, "maxMemoryBytes");
            return this;
        }

        /** Largest run served from slabs, in pages; larger requests get unpooled memory. */
        public Builder maxRunPages(int maxRunPages) {
            this.maxRunPages = ObjectUtil.checkPositive(maxRunPages, "maxRunPages");
            return this;
        }

        /** Largest run kept in thread caches, in pages; at most {@code maxRunPages}. */
        public Builder maxCachedRunPages(int maxCachedRunPages) {
            this.maxCachedRunPages = ObjectUtil.checkPositiveOrZero(maxCachedRunPages, "maxCachedRunPages");
            return this;
        }

        /** Bound of each thread cache in bytes; 0 disables caching. */
        public Builder maxCachedBytesPerThread(long maxCachedBytesPerThread) {
            this.maxCachedBytesPerThread = ObjectUtil.checkPositiveOrZero(maxCachedBytesPerThread,
                    "maxCachedBytesPerThread");
            return this;
        }

        /** Bytes a cache refill takes from the arena at once. */
        public Builder cacheRefillBytes(int cacheRefillBytes) {
            this.cacheRefillBytes = ObjectUtil.checkPositive(cacheRefillBytes, "cacheRefillBytes");
            return this;
        }

        /** What to do when {@code maxMemoryBytes} is reached. */
        public Builder maxMemoryPolicy(MaxMemoryPolicy maxMemoryPolicy) {
            this.maxMemoryPolicy = ObjectUtil.checkNotNull(maxMemoryPolicy, "maxMemoryPolicy");
            return this;
        }

        /**
         * Whether a multi-page {@code directBuffer} (or {@code buffer}) that finds no free run may become a
         * {@code CompositeByteBuf} of single pages, keeping the pool within {@code maxMemoryBytes} where only
         * scattered pages are free. Off by default: the NIO view of a composite of several pages is a copy, and
         * Netty's {@code SslHandler} writes every record it wraps or unwraps through such a view, as a cipher or a
         * file read into a buffer does, so their bytes would never reach the buffer (records sent empty, a
         * handshake the peer cannot parse). Without it such a request gets the {@link MaxMemoryPolicy}: counted
         * overflow memory by default. Turn it on only when every consumer of the pool's buffers writes through the
         * {@code ByteBuf} API. {@code ioBuffer} and {@code internalDirectBuffer} are one region either way.
         */
        public Builder compositeFallback(boolean compositeFallback) {
            this.compositeFallback = compositeFallback;
            return this;
        }

        /** After a multi-page run could not be found, skip further run attempts of that size for this long. */
        public Builder runRetryIntervalNanos(long runRetryIntervalNanos) {
            this.runRetryIntervalNanos = ObjectUtil.checkPositiveOrZero(runRetryIntervalNanos, "runRetryIntervalNanos");
            return this;
        }

        /** Timer of the reclaim threads; a cache that did not allocate during a whole interval is trimmed. */
        public Builder reclaimIntervalNanos(long reclaimIntervalNanos) {
            this.reclaimIntervalNanos = ObjectUtil.checkPositive(reclaimIntervalNanos, "reclaimIntervalNanos");
            return this;
        }

        /** Work bound of one reclaim pass, in regions. */
        public Builder maxReclaimRegionsPerPass(int maxReclaimRegionsPerPass) {
            this.maxReclaimRegionsPerPass = ObjectUtil.checkPositive(maxReclaimRegionsPerPass,
                    "maxReclaimRegionsPerPass");
            return this;
        }

        /** Whether each arena runs its reclaim thread. */
        public Builder reclaimThreads(boolean reclaimThreads) {
            this.reclaimThreads = reclaimThreads;
            return this;
        }

        /**
         * Whether every platform thread gets a cache, not only event loops and {@code FastThreadLocalThread}s.
         * Off by default: a plain thread that allocates now and then would hold up to
         * {@code maxCachedBytesPerThread} it rarely uses (until it ends), and short-lived threads would pay a cache's
         * set-up for a few buffers; they allocate from an arena under its lock instead. Turn it on for long-lived
         * plain threads that allocate at a high rate (a worker pool not made of {@code FastThreadLocalThread}s).
         * Virtual threads never get a cache.
         */
        public Builder cacheAllThreads(boolean cacheAllThreads) {
            this.cacheAllThreads = cacheAllThreads;
            return this;
        }

        /** Registers the MXBean at build time (see {@link PageRunAllocator#registerMBean()}). */
        public Builder registerMBean(boolean registerMBean) {
            this.registerMBean = registerMBean;
            return this;
        }

        /** Source of slab memory, {@code bytes -> direct buffer} (tests inject their own). */
        Builder slabMemory(IntFunction<ByteBuffer> slabMemory) {
            this.slabMemory = ObjectUtil.checkNotNull(slabMemory, "slabMemory");
            return this;
        }

        /** Clock of the rate limit (tests inject their own). Default {@link System#nanoTime()}. */
        Builder nanoClock(LongSupplier nanoClock) {
            this.nanoClock = ObjectUtil.checkNotNull(nanoClock, "nanoClock");
            return this;
        }

        public PageRunAllocator build() {
            if (maxRunPages > slabBytes / PAGE_BYTES) {
                throw new IllegalArgumentException("maxRunPages: " + maxRunPages + " (expected: <= slab pages "
                        + slabBytes / PAGE_BYTES + ")");
            }
            if (maxCachedRunPages > maxRunPages) {
                throw new IllegalArgumentException("maxCachedRunPages: " + maxCachedRunPages
                        + " (expected: <= maxRunPages " + maxRunPages + ")");
            }
            if (maxMemoryBytes < 0) {
                long limit = Math.min(PlatformDependent.maxDirectMemory() / 2, 1L << 30);
                maxMemoryBytes = Math.max(slabBytes, limit / slabBytes * slabBytes);
            } else if (maxMemoryBytes < slabBytes) {
                throw new IllegalArgumentException("maxMemoryBytes: " + maxMemoryBytes + " (expected: >= slabBytes "
                        + slabBytes + ")");
            }
            return new PageRunAllocator(this);
        }
    }
}
