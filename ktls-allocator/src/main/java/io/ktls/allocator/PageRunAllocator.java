package io.ktls.allocator;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.internal.ObjectUtil;
import io.netty.util.internal.PlatformDependent;
import io.netty.util.internal.ThreadExecutorMap;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 *   <li>No contiguous run (fragmentation, memory limit): a multi-page request becomes a {@link CompositeByteBuf}
 *       of single pages (counted; further run attempts are rate-limited); transport read buffers
 *       ({@code ioBuffer}) and capacity growth need contiguous memory and skip this step. No page at all:
 *       {@link MaxMemoryPolicy}.</li>
 *   <li>Heap buffers: Netty's unpooled heap buffers, counted.</li>
 * </ol>
 *
 * <h2>Release</h2>
 * A buffer released on the thread that allocated it goes back on that thread's cache; released anywhere else,
 * it is stored in the return ring of its origin cache (one CAS to claim a slot, no lock; a linked stack when the
 * ring is full) and taken back by the owner on its next miss, page_pool style. Nothing is ever freed into a different arena.
 *
 * <p>Threads: the allocator is shared by all threads; per-thread state lives in {@link RunCache}, shared state in
 * {@link Arena} (behind its lock) and in atomic counters.
 */
public final class PageRunAllocator extends AbstractByteBufAllocator
        implements ByteBufAllocatorMetricProvider, AutoCloseable {

    /** Page size: the unit of runs. 4 KiB, as the kernel page the design mirrors. */
    public static final int PAGE_BYTES = 4096;
    static final int PAGE_SHIFT = 12;
    /** Fragment classes 64, 128, ..., 2048 bytes: powers of two, so waste stays under half a fragment. */
    static final int FRAGMENT_CLASSES = 6;
    static final int MIN_FRAGMENT_SHIFT = 6;
    static final int MAX_FRAGMENT_BYTES = 2048;

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(PageRunAllocator.class);
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final String name;
    private final Arena[] arenas;
    private final int slabPages;
    private final long maxMemoryBytes;
    private final int maxRunPages;
    private final int maxCachedRunPages;
    private final int cachedClasses;
    private final long maxCachedBytesPerThread;
    private final int[] regionBytesByClass;
    private final int[] refillCountByClass;
    private final MaxMemoryPolicy maxMemoryPolicy;
    final long runRetryIntervalNanos;
    final long reclaimIntervalNanos;
    final int maxReclaimRegionsPerPass;
    private final LongSupplier nanoClock;
    private final FastThreadLocal<RunCache> threadCache;
    private final Metric metric = new Metric();

    private final AtomicLong reservedBytes = new AtomicLong();
    private final AtomicLong hugeAllocations = new AtomicLong();
    private final AtomicLong hugeReleases = new AtomicLong();
    private final AtomicLong overflowAllocations = new AtomicLong();
    private final AtomicLong overflowReleases = new AtomicLong();
    private final AtomicLong unpooledBytes = new AtomicLong();
    private final AtomicLong fallbackAllocations = new AtomicLong();
    private final AtomicLong heapAllocations = new AtomicLong();
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
        slabPages = b.slabBytes >>> PAGE_SHIFT;
        maxMemoryBytes = b.maxMemoryBytes;
        maxRunPages = b.maxRunPages;
        maxCachedRunPages = b.maxCachedRunPages;
        cachedClasses = FRAGMENT_CLASSES + maxCachedRunPages;
        maxCachedBytesPerThread = b.maxCachedBytesPerThread;
        maxMemoryPolicy = b.maxMemoryPolicy;
        runRetryIntervalNanos = b.runRetryIntervalNanos;
        reclaimIntervalNanos = b.reclaimIntervalNanos;
        maxReclaimRegionsPerPass = b.maxReclaimRegionsPerPass;
        nanoClock = b.nanoClock;
        regionBytesByClass = new int[cachedClasses];
        refillCountByClass = new int[cachedClasses];
        for (int c = 0; c < cachedClasses; c++) {
            regionBytesByClass[c] = c < FRAGMENT_CLASSES ? fragmentBytes(c) : (c - FRAGMENT_CLASSES + 1) * PAGE_BYTES;
            // A refill brings about cacheRefillBytes, at least one region and at most one page of fragments or 64
            // regions: enough to amortise the lock, small enough not to hoard.
            int limit = c < FRAGMENT_CLASSES ? PAGE_BYTES / regionBytesByClass[c] : 64;
            refillCountByClass[c] = Math.max(1, Math.min(limit, b.cacheRefillBytes / regionBytesByClass[c]));
        }
        arenas = new Arena[b.arenas];
        for (int i = 0; i < arenas.length; i++) {
            arenas[i] = new Arena(this, i, slabPages, maxCachedRunPages, maxCachedBytesPerThread > 0);
        }
        threadCache = new FastThreadLocal<RunCache>() {
            @Override
            protected RunCache initialValue() {
                Arena arena = leastUsedArena();
                RunCache cache = new RunCache(arena, Thread.currentThread(), ThreadExecutorMap.currentExecutor(),
                        maxCachedBytesPerThread, regionBytesByClass, refillCountByClass);
                arena.caches.add(cache);
                return cache;
            }

            @Override
            protected void onRemoval(RunCache cache) {
                cache.close();
                cache.trim();
            }
        };
        if (b.reclaimThreads) {
            for (Arena arena : arenas) {
                arena.reclaimer.start("ktls-reclaim-" + name + "-" + arena.index);
            }
        }
        logger.debug("PageRunAllocator '{}': arenas={}, slabBytes={}, maxMemoryBytes={}, maxRunPages={}, "
                        + "maxCachedRunPages={}, maxCachedBytesPerThread={}, cacheRefillBytes={}, maxMemoryPolicy={}, "
                        + "runRetryIntervalNanos={}, reclaimIntervalNanos={}, maxReclaimRegionsPerPass={}, "
                        + "reclaimThreads={}, leakDetection={}",
                name, arenas.length, b.slabBytes, maxMemoryBytes, maxRunPages, maxCachedRunPages,
                maxCachedBytesPerThread, b.cacheRefillBytes, maxMemoryPolicy, runRetryIntervalNanos,
                reclaimIntervalNanos, maxReclaimRegionsPerPass, b.reclaimThreads,
                io.netty.util.ResourceLeakDetector.getLevel());
        if (b.registerMBean) {
            registerMBean();
        }
    }

    static int fragmentBytes(int sizeClass) {
        return 1 << (MIN_FRAGMENT_SHIFT + sizeClass);
    }

    /** Size class of a request; classes at or above {@link #cachedClasses} are not cached. */
    private static int sizeClass(int bytes) {
        if (bytes <= MAX_FRAGMENT_BYTES) {
            return bytes <= 64 ? 0 : 32 - Integer.numberOfLeadingZeros(bytes - 1) - MIN_FRAGMENT_SHIFT;
        }
        return FRAGMENT_CLASSES + pagesFor(bytes) - 1;
    }

    static int pagesFor(int bytes) {
        return (int) (((long) bytes + PAGE_BYTES - 1) >>> PAGE_SHIFT);
    }

    public String name() {
        return name;
    }

    long nanoTime() {
        return nanoClock.getAsLong();
    }

    private Arena leastUsedArena() {
        Arena best = arenas[0];
        for (Arena a : arenas) {
            if (a.caches.size() < best.caches.size()) {
                best = a;
            }
        }
        return best;
    }

    // ---- allocation ----------------------------------------------------------------------------------------

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        PageRunBuf buf = allocateRegion(initialCapacity, maxCapacity);
        if (buf != null) {
            return toLeakAwareBuffer(buf);
        }
        return exhausted(initialCapacity, maxCapacity, true);
    }

    /** Transport read buffers must be contiguous (epoll reads into one address): no composite fallback. */
    @Override
    public ByteBuf ioBuffer(int initialCapacity, int maxCapacity) {
        if (initialCapacity == 0 && maxCapacity == 0) {
            return directBuffer(0, 0);
        }
        ObjectUtil.checkPositiveOrZero(initialCapacity, "initialCapacity");
        if (initialCapacity > maxCapacity) {
            throw new IllegalArgumentException(
                    "initialCapacity: " + initialCapacity + " (expected: <= maxCapacity " + maxCapacity + ")");
        }
        PageRunBuf buf = allocateRegion(initialCapacity, maxCapacity);
        return toLeakAwareBuffer(buf != null ? buf : exhausted(initialCapacity, maxCapacity, false));
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

    /** A pooled or huge region, or null when the pool is exhausted for this request. */
    private PageRunBuf allocateRegion(int capacity, int maxCapacity) {
        if (closed.get()) {
            throw new IllegalStateException("PageRunAllocator '" + name + "' is closed");
        }
        int sizeClass = sizeClass(capacity);
        if (sizeClass < cachedClasses) {
            PageRunBuf buf = threadCache.get().allocate(sizeClass);
            return buf == null ? null : buf.init(capacity, maxCapacity);
        }
        int pages = pagesFor(capacity);
        if (pages > maxRunPages) {
            return unpooled(capacity, maxCapacity, PageRunBuf.ORIGIN_HUGE);
        }
        PageRunBuf buf = threadCache.get().arena.allocateUncached(pages, PageRunBuf.ORIGIN_ARENA);
        return buf == null ? null : buf.init(capacity, maxCapacity);
    }

    /** No region for this request: single pages if allowed, else the policy at the limit. */
    private ByteBuf exhausted(int capacity, int maxCapacity, boolean compositeAllowed) {
        int pages = pagesFor(capacity);
        if (compositeAllowed && pages > 1) {
            Arena arena = threadCache.get().arena;
            PageRunBuf[] parts = new PageRunBuf[pages];
            int got = 0;
            while (got < pages) {
                PageRunBuf page = arena.allocateUncached(1, PageRunBuf.ORIGIN_FALLBACK);
                if (page == null) {
                    break;
                }
                parts[got++] = page.init(PAGE_BYTES, PAGE_BYTES);
            }
            if (got == pages) {
                fallbackAllocations.incrementAndGet();
                CompositeByteBuf composite = new CompositeByteBuf(this, true, Math.max(pages, 16));
                for (PageRunBuf part : parts) {
                    composite.addComponent(true, part.writerIndex(PAGE_BYTES));
                }
                composite.capacity(capacity);
                composite.setIndex(0, 0);
                return toLeakAwareBuffer(composite);
            }
            // Not even single pages: give back what we took, then apply the policy.
            for (int i = 0; i < got; i++) {
                parts[i].release();
            }
        }
        return atLimit(capacity, maxCapacity);
    }

    private PageRunBuf atLimit(int capacity, int maxCapacity) {
        if (maxMemoryPolicy == MaxMemoryPolicy.FAIL) {
            throw new OutOfMemoryError("PageRunAllocator '" + name + "': maxMemoryBytes " + maxMemoryBytes
                    + " reached (" + reservedBytes.get() + " bytes reserved, no free page); cannot allocate "
                    + capacity + " bytes");
        }
        return unpooled(capacity, maxCapacity, PageRunBuf.ORIGIN_OVERFLOW);
    }

    private PageRunBuf unpooled(int capacity, int maxCapacity, byte origin) {
        ByteBuffer memory = DirectMemory.allocate(Math.max(capacity, 1));
        long address = DirectMemory.address(memory);
        PageRunBuf buf = new PageRunBuf(this);
        buf.bindUnpooled(memory, address, origin);
        unpooledBytes.addAndGet(buf.regionBytes);
        (origin == PageRunBuf.ORIGIN_HUGE ? hugeAllocations : overflowAllocations).incrementAndGet();
        return buf.init(capacity, maxCapacity);
    }

    /** Called by {@link PageRunBuf#deallocate()} for regions that belong to no cache. */
    void freeUncached(PageRunBuf buf) {
        switch (buf.origin) {
            case PageRunBuf.ORIGIN_HUGE:
            case PageRunBuf.ORIGIN_OVERFLOW:
                unpooledBytes.addAndGet(-buf.regionBytes);
                (buf.origin == PageRunBuf.ORIGIN_HUGE ? hugeReleases : overflowReleases).incrementAndGet();
                DirectMemory.free(buf.memory);
                buf.memory = null;
                break;
            default:
                buf.arena.freeUncached(buf);
        }
    }

    /** Moves {@code buf}'s content into a larger region (contiguous, never a composite). */
    void grow(PageRunBuf buf, int newCapacity) {
        PageRunBuf bigger = allocateRegion(newCapacity, Integer.MAX_VALUE);
        if (bigger == null) {
            bigger = atLimit(newCapacity, Integer.MAX_VALUE);
        }
        buf.copyRegionTo(bigger, buf.capacity());
        buf.swapBinding(bigger);
        // bigger now holds the old region and takes it home.
        bigger.release();
    }

    // ---- bulk ----------------------------------------------------------------------------------------------

    /**
     * Allocates {@code count} buffers of {@code runPages} pages each into {@code out[offset ..]}, taking the
     * thread's cache once. A slot gets a page composite when no contiguous run is available. Returns the number
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
        int sizeClass = FRAGMENT_CLASSES + runPages - 1;
        RunCache cache = threadCache.get();
        for (int i = 0; i < count; i++) {
            PageRunBuf buf = sizeClass < cachedClasses ? cache.allocate(sizeClass)
                    : cache.arena.allocateUncached(runPages, PageRunBuf.ORIGIN_ARENA);
            if (buf != null) {
                out[offset + i] = toLeakAwareBuffer(buf.init(runBytes, Integer.MAX_VALUE));
            } else {
                try {
                    out[offset + i] = exhausted(runBytes, Integer.MAX_VALUE, true);
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

    boolean reserveMemory(long bytes) {
        for (;;) {
            long current = reservedBytes.get();
            if (current + bytes > maxMemoryBytes) {
                return false;
            }
            if (reservedBytes.compareAndSet(current, current + bytes)) {
                return true;
            }
        }
    }

    void unreserveMemory(long bytes) {
        reservedBytes.addAndGet(-bytes);
    }

    /** Folds the counters of a cache with nothing in flight into its arena and forgets it (reclaim thread). */
    void retire(RunCache cache) {
        Arena arena = cache.arena;
        cache.close();
        cache.drainReturned();
        for (RunCache.FreeList list : cache.lists) {
            arena.retiredAllocations.addAndGet(list.allocations());
            arena.retiredArenaAllocations.addAndGet(list.arenaAllocations.get());
            arena.retiredLocalReleases.addAndGet(list.localReleases());
            arena.retiredRemoteReleases.addAndGet(list.returns.remoteReleases());
        }
        arena.caches.remove(cache);
    }

    /** Gives this thread's cached regions back to its arena now (for example before the thread goes idle). */
    public void trimCurrentThreadCache() {
        if (threadCache.isSet()) {
            threadCache.get().trim();
        }
    }

    Arena[] arenas() {
        return arenas;
    }

    /** The arena serving the calling thread (tests). */
    Arena currentArena() {
        return threadCache.get().arena;
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
                    cache.trim();
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
        return "PageRunAllocator(" + name + ", reserved " + reservedBytes.get() + "/" + maxMemoryBytes + " bytes, in flight "
                + metric.inFlightBytes() + " bytes)";
    }

    // ---- metrics -------------------------------------------------------------------------------------------

    private final class Metric implements PageRunAllocatorMetric {
        @Override
        public long usedHeapMemory() {
            return -1;
        }

        @Override
        public long usedDirectMemory() {
            return reservedBytes.get() + unpooledBytes.get();
        }

        @Override
        public long cacheHitAllocations() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.retiredAllocations.get() - a.retiredArenaAllocations.get();
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        sum += l.allocations() - l.arenaAllocations.get();
                    }
                }
            }
            return sum;
        }

        @Override
        public long arenaAllocations() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.retiredArenaAllocations.get() + a.uncachedAllocations;
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        sum += l.arenaAllocations.get();
                    }
                }
            }
            return sum;
        }

        @Override
        public long fallbackAllocations() {
            return fallbackAllocations.get();
        }

        @Override
        public long hugeAllocations() {
            return hugeAllocations.get();
        }

        @Override
        public long overflowAllocations() {
            return overflowAllocations.get();
        }

        @Override
        public long heapAllocations() {
            return heapAllocations.get();
        }

        @Override
        public long localReleases() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.retiredLocalReleases.get();
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        sum += l.localReleases();
                    }
                }
            }
            return sum;
        }

        @Override
        public long remoteReleases() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.retiredRemoteReleases.get();
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        sum += l.returns.remoteReleases();
                    }
                }
            }
            return sum;
        }

        @Override
        public long runAllocationFailures() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.runFailures;
            }
            return sum;
        }

        @Override
        public long runAttemptsSkipped() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.runAttemptsSkipped;
            }
            return sum;
        }

        @Override
        public long inFlightRuns() {
            // Releases are read before allocations so a concurrent reader never sees more releases than
            // allocations of the same region.
            long released = hugeReleases.get() + overflowReleases.get();
            long allocated;
            long cached = 0;
            for (Arena a : arenas) {
                released += a.uncachedReleases + a.fallbackPageReleases;
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        cached += l.returns.remoteReleases() + l.localReleases();
                    }
                }
            }
            allocated = hugeAllocations.get() + overflowAllocations.get();
            for (Arena a : arenas) {
                allocated += a.uncachedAllocations + a.fallbackPageAllocations;
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        allocated += l.allocations();
                    }
                }
            }
            return allocated - released - cached;
        }

        @Override
        public long inFlightBytes() {
            long bytes = unpooledBytes.get();
            for (Arena a : arenas) {
                bytes += a.uncachedBytesInFlight + (a.fallbackPageAllocations - a.fallbackPageReleases) * PAGE_BYTES;
                for (RunCache c : a.caches) {
                    for (RunCache.FreeList l : c.lists) {
                        long released = l.returns.remoteReleases() + l.localReleases();
                        bytes += (l.allocations() - released) * l.regionBytes;
                    }
                }
            }
            return bytes;
        }

        @Override
        public long reservedBytes() {
            return reservedBytes.get();
        }

        @Override
        public long cachedBytes() {
            long sum = 0;
            for (Arena a : arenas) {
                for (RunCache c : a.caches) {
                    sum += c.cachedBytes();
                    for (RunCache.FreeList l : c.lists) {
                        sum += l.returns.pending() * l.regionBytes;
                    }
                }
            }
            return sum;
        }

        @Override
        public long depotBytes() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.depotBytes();
            }
            return sum;
        }

        @Override
        public long unpooledBytes() {
            return unpooledBytes.get();
        }

        @Override
        public long maxMemoryBytes() {
            return maxMemoryBytes;
        }

        @Override
        public long slabsReserved() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.slabsReserved;
            }
            return sum;
        }

        @Override
        public long slabsReleased() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.slabsReleased;
            }
            return sum;
        }

        @Override
        public long reclaimWakeups() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.reclaimer.wakeups.get();
            }
            return sum;
        }

        @Override
        public long reclaimFailureWakeups() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.reclaimer.failureWakeups.get();
            }
            return sum;
        }

        @Override
        public long reclaims() {
            long sum = 0;
            for (Arena a : arenas) {
                sum += a.reclaimer.reclaims.get();
            }
            return sum;
        }

        @Override
        public int reclaimRunning() {
            int n = 0;
            for (Arena a : arenas) {
                n += a.reclaimer.running ? 1 : 0;
            }
            return n;
        }

        @Override
        public int arenaCount() {
            return arenas.length;
        }

        @Override
        public int threadCacheCount() {
            int n = 0;
            for (Arena a : arenas) {
                n += a.caches.size();
            }
            return n;
        }

        @Override
        public String toString() {
            return "PageRunAllocatorMetric(cacheHits " + cacheHitAllocations() + ", arena " + arenaAllocations()
                    + ", fallback " + fallbackAllocations() + ", huge " + hugeAllocations() + ", overflow "
                    + overflowAllocations() + ", inFlightRuns " + inFlightRuns() + ", inFlightBytes "
                    + inFlightBytes() + ", reserved " + reservedBytes() + ", cached " + cachedBytes() + ", depot "
                    + depotBytes() + ")";
        }
    }

    // ---- configuration -------------------------------------------------------------------------------------

    /**
     * Configuration of a {@link PageRunAllocator}. Every setting has a default that suits a TLS file server on a
     * few cores; sizes are in bytes, times in nanoseconds.
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
        private LongSupplier nanoClock = System::nanoTime;

        private Builder() {
        }

        /** Name used in logs, thread names and the MBean. Default: {@code page-runs-<n>}. */
        public Builder name(String name) {
            this.name = ObjectUtil.checkNonEmpty(name, "name");
            return this;
        }

        /** Number of arenas threads are spread over. Default: available processors (one per core). */
        public Builder arenas(int arenas) {
            this.arenas = ObjectUtil.checkPositive(arenas, "arenas");
            return this;
        }

        /**
         * Size of one slab of direct memory, a multiple of 4 KiB. Default 1 MiB: holds four of the largest runs,
         * and is the step in which memory is taken from and returned to the operating system, so a quiet
         * server holds little.
         */
        public Builder slabBytes(int slabBytes) {
            if (slabBytes <= 0 || slabBytes % PAGE_BYTES != 0) {
                throw new IllegalArgumentException("slabBytes: " + slabBytes + " (expected: a positive multiple of "
                        + PAGE_BYTES + ")");
            }
            this.slabBytes = slabBytes;
            return this;
        }

        /**
         * Limit of direct memory in slabs, over all arenas. Default: half of the JVM's direct memory limit, at most
         * 1 GiB, rounded down to whole slabs.
         */
        public Builder maxMemoryBytes(long maxMemoryBytes) {
            this.maxMemoryBytes = ObjectUtil.checkPositive(maxMemoryBytes, "maxMemoryBytes");
            return this;
        }

        /** Largest run served from slabs, in pages; larger requests get unpooled memory. Default 64 (256 KiB). */
        public Builder maxRunPages(int maxRunPages) {
            this.maxRunPages = ObjectUtil.checkPositive(maxRunPages, "maxRunPages");
            return this;
        }

        /**
         * Largest run kept in thread caches, in pages. Default 16 (64 KiB): covers TLS records (4 pages) and the
         * largest socket read Netty's adaptive receive sizing asks for.
         */
        public Builder maxCachedRunPages(int maxCachedRunPages) {
            this.maxCachedRunPages = ObjectUtil.checkPositiveOrZero(maxCachedRunPages, "maxCachedRunPages");
            return this;
        }

        /** Bound of each thread cache in bytes; 0 disables caching. Default 1 MiB (64 TLS record runs). */
        public Builder maxCachedBytesPerThread(long maxCachedBytesPerThread) {
            this.maxCachedBytesPerThread = ObjectUtil.checkPositiveOrZero(maxCachedBytesPerThread,
                    "maxCachedBytesPerThread");
            return this;
        }

        /** Bytes a cache refill takes from the arena at once. Default 128 KiB (8 TLS record runs). */
        public Builder cacheRefillBytes(int cacheRefillBytes) {
            this.cacheRefillBytes = ObjectUtil.checkPositive(cacheRefillBytes, "cacheRefillBytes");
            return this;
        }

        /** What to do when {@code maxMemoryBytes} is reached. Default {@link MaxMemoryPolicy#OVERFLOW_UNPOOLED}. */
        public Builder maxMemoryPolicy(MaxMemoryPolicy maxMemoryPolicy) {
            this.maxMemoryPolicy = ObjectUtil.checkNotNull(maxMemoryPolicy, "maxMemoryPolicy");
            return this;
        }

        /**
         * After a multi-page run could not be found, skip further run attempts for this long (fall back to single
         * pages). Default 1 s, FreeBSD's value.
         */
        public Builder runRetryIntervalNanos(long runRetryIntervalNanos) {
            this.runRetryIntervalNanos = ObjectUtil.checkPositiveOrZero(runRetryIntervalNanos, "runRetryIntervalNanos");
            return this;
        }

        /**
         * Timer of the reclaim threads; a cache that did not allocate during a whole interval is trimmed. Default
         * 1 s.
         */
        public Builder reclaimIntervalNanos(long reclaimIntervalNanos) {
            this.reclaimIntervalNanos = ObjectUtil.checkPositive(reclaimIntervalNanos, "reclaimIntervalNanos");
            return this;
        }

        /** Work bound of one reclaim pass, in regions. Default 1024, FreeBSD's {@code max_reclaim}. */
        public Builder maxReclaimRegionsPerPass(int maxReclaimRegionsPerPass) {
            this.maxReclaimRegionsPerPass = ObjectUtil.checkPositive(maxReclaimRegionsPerPass,
                    "maxReclaimRegionsPerPass");
            return this;
        }

        /** Whether each arena runs its reclaim thread. Default true. */
        public Builder reclaimThreads(boolean reclaimThreads) {
            this.reclaimThreads = reclaimThreads;
            return this;
        }

        /** Registers the MXBean at build time. Default false (see {@link PageRunAllocator#registerMBean()}). */
        public Builder registerMBean(boolean registerMBean) {
            this.registerMBean = registerMBean;
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
