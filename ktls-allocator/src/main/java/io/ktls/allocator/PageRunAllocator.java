package io.ktls.allocator;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.FastThreadLocalThread;
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
 * <p>Threads: the allocator is shared by all threads; per-thread state lives in {@link RunCache} (event loops and
 * {@code FastThreadLocalThread}s only, see {@link Builder#cacheAllThreads(boolean)}; other threads allocate from an
 * arena directly), shared state in {@link Arena} (behind its lock) and in atomic counters. Metrics that sum over
 * caches read around the retire seqlock, so a cache retiring meanwhile is counted exactly once.
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
    private final IntFunction<ByteBuffer> slabMemory;
    private final boolean cacheAllThreads;
    private final FastThreadLocal<RunCache> threadCache;
    /**
     * Seqlock of cache retirement: odd while a retiring cache's counters move into its arena and it leaves the
     * list, so a metric that sums over caches and retired counters retries instead of counting it twice or not
     * at all. Written under {@link #retireLock}, read by any thread.
     */
    private final AtomicLong retireSequence = new AtomicLong();
    private final Object retireLock = new Object();
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
        slabMemory = b.slabMemory;
        cacheAllThreads = b.cacheAllThreads;
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
            arenas[i] = new Arena(this, i, slabPages, maxRunPages, maxCachedRunPages, maxCachedBytesPerThread > 0);
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
                // The owner's thread-local goes (FastThreadLocal.removeAll at the end of a FastThreadLocalThread):
                // the lists go home now, and the reclaim thread retires the cache once nothing is in flight.
                cache.reap();
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
                        + "reclaimThreads={}, cacheAllThreads={}, leakDetection={}",
                name, arenas.length, b.slabBytes, maxMemoryBytes, maxRunPages, maxCachedRunPages,
                maxCachedBytesPerThread, b.cacheRefillBytes, maxMemoryPolicy, runRetryIntervalNanos,
                reclaimIntervalNanos, maxReclaimRegionsPerPass, b.reclaimThreads, cacheAllThreads,
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

    /**
     * The calling thread's cache, created on its first allocation if a cache pays on this thread; null otherwise.
     * A cache pays where one thread allocates and frees at a high rate for a long time: event loops (the thread
     * runs an {@link io.netty.util.concurrent.EventExecutor}) and {@link FastThreadLocalThread}s (Netty's own
     * threads, whose thread-locals are removed when they end). Plain platform threads get one only with
     * {@link Builder#cacheAllThreads(boolean)}; virtual threads never do (thousands of them would each hold up to
     * {@code maxCachedBytesPerThread}). Threads without a cache allocate from an arena under its lock.
     */
    private RunCache cacheOrNull() {
        RunCache cache = threadCache.getIfExists();
        if (cache != null) {
            return cache;
        }
        Thread thread = Thread.currentThread();
        boolean pays = thread instanceof FastThreadLocalThread || ThreadExecutorMap.currentExecutor() != null
                || cacheAllThreads && !VirtualThreads.isVirtual(thread);
        return pays ? threadCache.get() : null;
    }

    /** The arena of a thread without a cache: spread by thread id, so one thread keeps to one arena. */
    @SuppressWarnings("deprecation") // Thread.threadId() is JDK 19+; getId() is the same number
    private Arena arenaOf(Thread thread) {
        long id = thread.getId() * 0x9E3779B97F4A7C15L; // Fibonacci hashing spreads sequential ids
        return arenas[(int) ((id >>> 32) % arenas.length)];
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
        PageRunBuf buf = allocateRegion(initialCapacity, maxCapacity, true);
        // Every buffer handed out is leak-tracked: pooled, composite and overflow alike.
        return toLeakAwareBuffer(buf != null ? buf : exhausted(initialCapacity, maxCapacity, true));
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
        PageRunBuf buf = allocateRegion(initialCapacity, maxCapacity, false);
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

    /**
     * A pooled or huge region, or null when the pool is exhausted for this request. {@code mayBackOff}: the caller
     * can fall back to single pages, so a size backing off after a failure may skip the slow steps of a search.
     */
    private PageRunBuf allocateRegion(int capacity, int maxCapacity, boolean mayBackOff) {
        if (closed.get()) {
            throw new IllegalStateException("PageRunAllocator '" + name + "' is closed");
        }
        int sizeClass = sizeClass(capacity);
        int pages = pagesFor(capacity);
        if (pages > maxRunPages) {
            return unpooled(capacity, maxCapacity, PageRunBuf.ORIGIN_HUGE);
        }
        RunCache cache = cacheOrNull();
        PageRunBuf buf;
        if (cache != null && sizeClass < cachedClasses) {
            buf = cache.allocate(sizeClass, mayBackOff);
        } else {
            Arena arena = cache != null ? cache.arena : arenaOf(Thread.currentThread());
            buf = sizeClass < FRAGMENT_CLASSES ? arena.allocateFragmentUncached(sizeClass)
                    : arena.allocateUncached(pages, PageRunBuf.ORIGIN_ARENA, mayBackOff);
        }
        return buf == null ? null : buf.init(capacity, maxCapacity);
    }

    /** The arena serving the calling thread: its cache's, or the one its id maps to. */
    private Arena arenaOfCurrentThread() {
        RunCache cache = threadCache.getIfExists();
        return cache != null ? cache.arena : arenaOf(Thread.currentThread());
    }

    /**
     * No region for this request: single pages if allowed, else the policy at the limit. The result is not yet
     * leak-tracked; the caller wraps it.
     */
    private ByteBuf exhausted(int capacity, int maxCapacity, boolean compositeAllowed) {
        int pages = pagesFor(capacity);
        if (compositeAllowed && pages > 1) {
            Arena arena = arenaOfCurrentThread();
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
                return composite;
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
        PageRunBuf bigger = allocateRegion(newCapacity, Integer.MAX_VALUE, false);
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
        RunCache cache = cacheOrNull();
        Arena arena = cache != null ? cache.arena : arenaOf(Thread.currentThread());
        for (int i = 0; i < count; i++) {
            PageRunBuf buf = cache != null && sizeClass < cachedClasses ? cache.allocate(sizeClass, true)
                    : arena.allocateUncached(runPages, PageRunBuf.ORIGIN_ARENA, true);
            if (buf != null) {
                out[offset + i] = toLeakAwareBuffer(buf.init(runBytes, Integer.MAX_VALUE));
            } else {
                try {
                    out[offset + i] = toLeakAwareBuffer(exhausted(runBytes, Integer.MAX_VALUE, true));
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

    /** Whether a slab of {@code bytes} would fit the memory limit now (a hint; {@link #reserveMemory} decides). */
    boolean hasRoomFor(long bytes) {
        return reservedBytes.get() + bytes <= maxMemoryBytes;
    }

    /** Direct memory for a slab of {@code pages} pages, from the JVM (tests may inject their own). */
    ByteBuffer slabMemory(int pages) {
        return slabMemory.apply(pages * PAGE_BYTES);
    }

    /**
     * Folds the counters of a cache with nothing in flight into its arena and forgets it (reclaim thread). The
     * fold and the removal happen inside the retire seqlock, so a metric never sees the cache both in the list and
     * in the retired counters, or in neither.
     */
    void retire(RunCache cache) {
        Arena arena = cache.arena;
        cache.close();
        cache.drainReturned();
        synchronized (retireLock) {
            if (!arena.caches.contains(cache)) {
                return; // retired already (allocator close racing a reclaim pass)
            }
            retireSequence.incrementAndGet();
            try {
                for (RunCache.FreeList list : cache.lists) {
                    arena.retiredAllocations.addAndGet(list.allocations());
                    arena.retiredArenaAllocations.addAndGet(list.arenaAllocations.get());
                    arena.retiredLocalReleases.addAndGet(list.localReleases());
                    arena.retiredRemoteReleases.addAndGet(list.returns.remoteReleases());
                }
                arena.caches.remove(cache);
            } finally {
                retireSequence.incrementAndGet();
            }
        }
    }

    /**
     * Reads a sum over caches and retired counters consistently with retirement: retried while a cache retires
     * (rare: at most once per cache), so each cache's counts are seen exactly once.
     */
    private long stableSum(LongSupplier sum) {
        for (int attempt = 0; ; attempt++) {
            long before = retireSequence.get();
            if ((before & 1) == 0) {
                long value = sum.getAsLong();
                if (retireSequence.get() == before) {
                    return value;
                }
            }
            if (attempt > 64) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
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
        RunCache cache = cacheOrNull();
        return cache != null ? cache.arena : arenaOf(Thread.currentThread());
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
            return stableSum(() -> {
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
            });
        }

        @Override
        public long arenaAllocations() {
            return stableSum(() -> {
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
            });
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
            return stableSum(() -> {
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
            });
        }

        @Override
        public long remoteReleases() {
            return stableSum(() -> {
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
            });
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
            return stableSum(() -> {
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
            });
        }

        @Override
        public long inFlightBytes() {
            return stableSum(() -> {
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
            });
        }

        @Override
        public long reservedBytes() {
            return reservedBytes.get();
        }

        @Override
        public long cachedBytes() {
            return stableSum(() -> {
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
            });
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
        private boolean cacheAllThreads;
        private LongSupplier nanoClock = System::nanoTime;
        private IntFunction<ByteBuffer> slabMemory = DirectMemory::allocate;

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

        /**
         * Whether every platform thread gets a cache, not only event loops and {@code FastThreadLocalThread}s.
         * Default false: a plain thread that allocates now and then would hold up to
         * {@code maxCachedBytesPerThread} it rarely uses (until it ends), and short-lived threads would pay a cache's
         * set-up for a few buffers; they allocate from an arena under its lock instead. Turn it on for long-lived
         * plain threads that allocate at a high rate (a worker pool not made of {@code FastThreadLocalThread}s).
         * Virtual threads never get a cache.
         */
        public Builder cacheAllThreads(boolean cacheAllThreads) {
            this.cacheAllThreads = cacheAllThreads;
            return this;
        }

        /** Registers the MXBean at build time. Default false (see {@link PageRunAllocator#registerMBean()}). */
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
