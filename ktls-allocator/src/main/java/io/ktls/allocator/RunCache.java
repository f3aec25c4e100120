package io.ktls.allocator;

import io.netty.util.concurrent.EventExecutor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One thread's cache of free regions, one {@link FreeList} per cached size class, bounded by
 * {@code maxCachedBytes} in total, bound to one {@link Arena} for its whole life. Only threads where a cache pays
 * get one (event loops, {@code FastThreadLocalThread}s, or all platform threads with {@code cacheAllThreads}),
 * created on their first allocation.
 *
 * <h2>Protocol</h2>
 * <ul>
 *   <li><b>Allocate</b> (owner): pop the private list; if empty, take everything other threads returned through
 *       the class's {@link ReturnRing} and keep as much of it as the bound allows (the rest goes to the arena);
 *       if nothing was returned, refill a batch from the arena under its lock.</li>
 *   <li><b>Free on the owner thread</b>: push on the private list, or give the region to the arena when the bound
 *       would be exceeded.</li>
 *   <li><b>Free on any other thread</b>: through the class's {@link ReturnRing}, the only part of a cache other
 *       threads touch.</li>
 *   <li><b>Trim</b> (owner only): give everything back to the arena. A trim asked for by the reclaim thread runs
 *       as a task on the owner's event loop when it has one, and the task trims only if it runs on the owner
 *       thread: an executor may run it elsewhere (an event loop suspended and resumed on a new thread, an executor
 *       that replaces its thread, a caller-runs rejection handler). Otherwise the owner trims at its next miss.</li>
 *   <li><b>Reap</b> (any thread, once the owner terminated or removed its thread-local): the private lists go back
 *       to the arena exactly once.</li>
 * </ul>
 *
 * <h2>State word</h2>
 * {@link #state} holds {@link #CLOSED}, {@link #TRIMMING}, {@link #REAPED} and {@link #TRIM_TASK_QUEUED}; every
 * change is a compare-and-set, so close, trim and reap are mutually exclusive: a trim claims {@code TRIMMING}
 * only while the lists are not reaped, a reap claims {@code REAPED} only while no trim runs, and the lists are
 * walked by whoever holds the claim and by nobody else. Two walks of one list would hand the same run to the arena
 * twice, so the arena's boundary-tag check ({@link Arena}) is the second line of defence, not the first.
 *
 * <p>Threads: the private lists and {@link #cachedBytes} belong to the owner thread (or the one reaper after the
 * owner terminated: {@link Thread#isAlive()} returning false orders all of the owner's writes before the reaper's
 * reads, JLS 17.4.4); counters that other threads read are written with release semantics and read with acquire
 * semantics, which costs nothing extra on x86.
 */
final class RunCache {
    private static final VarHandle CACHED_BYTES;
    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CACHED_BYTES = lookup.findVarHandle(RunCache.class, "cachedBytes", long.class);
            STATE = lookup.findVarHandle(RunCache.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Frees bypass the private lists; set once, never cleared. */
    static final int CLOSED = 1;
    /** The owner is walking its private lists. */
    static final int TRIMMING = 2;
    /** The private lists were handed back after the owner's end; nobody touches them again. */
    static final int REAPED = 4;
    /** A trim task is queued on the owner's executor: the reclaim thread queues at most one. */
    static final int TRIM_TASK_QUEUED = 8;

    final Arena arena;
    final Thread owner;
    /** The owner's event loop, if it is one: idle trimming is then run on it with execute(). */
    final EventExecutor executor;
    final long maxCachedBytes;
    final FreeList[] lists;
    /** The task handed to {@link #executor}; trims only on the owner thread. */
    final Runnable trimTask = this::runTrimTask;

    /** Bytes on the private lists; owner writes, metrics read. */
    private long cachedBytes;
    /** See the state word in the class comment; any thread, compare-and-set only. */
    private volatile int state;
    /** Set by the reclaim thread when the cache sat idle for a whole interval; the owner trims on its next miss. */
    volatile boolean trimRequested;
    /** Reclaim thread only: allocation count seen at its previous pass, to tell an idle cache. */
    long allocationsAtLastPass = -1;

    RunCache(Arena arena, Thread owner, EventExecutor executor, long maxCachedBytes, int[] regionBytesByClass,
             int[] refillCountByClass) {
        this(arena, owner, executor, maxCachedBytes, regionBytesByClass, refillCountByClass, 0);
    }

    /** {@code ringSlots}: slots of every return ring, or 0 for the size the bound implies (model-checking tests). */
    RunCache(Arena arena, Thread owner, EventExecutor executor, long maxCachedBytes, int[] regionBytesByClass,
             int[] refillCountByClass, int ringSlots) {
        this.arena = arena;
        this.owner = owner;
        this.executor = executor;
        this.maxCachedBytes = maxCachedBytes;
        lists = new FreeList[regionBytesByClass.length];
        for (int i = 0; i < lists.length; i++) {
            lists[i] = new FreeList(this, i, regionBytesByClass[i], refillCountByClass[i], ringSlots);
        }
    }

    long cachedBytes() {
        return (long) CACHED_BYTES.getAcquire(this);
    }

    private void addCachedBytes(long delta) {
        CACHED_BYTES.setRelease(this, cachedBytes + delta);
    }

    boolean isClosed() {
        return (state & CLOSED) != 0;
    }

    /** Sets {@code bits} in the state word if none of {@code unless} is set; returns whether it did. */
    private boolean setStateUnless(int bits, int unless) {
        for (;;) {
            int s = state;
            if ((s & unless) != 0) {
                return false;
            }
            if ((s & bits) == bits || STATE.compareAndSet(this, s, s | bits)) {
                return true;
            }
        }
    }

    private void clearState(int bits) {
        STATE.getAndBitwiseAnd(this, ~bits);
    }

    /**
     * Any thread: from now on, frees on the owner thread go to the arena and frees on other threads are taken
     * to the arena by the releasing thread itself. The private lists are left to the owner ({@link #trim()}) or,
     * once it has terminated, to {@link #reap()}.
     */
    void close() {
        STATE.getAndBitwiseOr(this, CLOSED);
        for (FreeList list : lists) {
            list.returns.closed = true;
        }
    }

    /** Reclaim thread: marks a trim task as queued; false when one already is. */
    boolean queueTrimTask() {
        return setStateUnless(TRIM_TASK_QUEUED, TRIM_TASK_QUEUED | REAPED);
    }

    /** Reclaim thread: the executor refused the task. */
    void trimTaskNotQueued() {
        clearState(TRIM_TASK_QUEUED);
    }

    private void runTrimTask() {
        clearState(TRIM_TASK_QUEUED);
        if (Thread.currentThread() == owner) {
            trimRequested = false;
            trim();
        }
        // Elsewhere: the owner's private lists are not ours to touch; trimRequested stays set and the owner trims
        // at its next miss, or the reclaim thread reaps them once the owner has terminated.
    }

    /** Owner only. Returns a free region of the class, or null when the arena could not supply one. */
    PageRunBuf allocate(int sizeClass, boolean mayBackOff) {
        FreeList list = lists[sizeClass];
        PageRunBuf buf = list.head;
        if (buf != null) {
            list.head = buf.next;
            list.count--;
            buf.next = null;
            addCachedBytes(-list.regionBytes);
            list.countAllocation();
            return buf;
        }
        return allocateSlow(list, mayBackOff);
    }

    private PageRunBuf allocateSlow(FreeList list, boolean mayBackOff) {
        assert Thread.currentThread() == owner : "cache of " + owner + " used by " + Thread.currentThread();
        if (trimRequested) {
            trimRequested = false;
            trim();
        }
        // One more than the bound allows to cache: the first goes to the caller.
        long keep = (maxCachedBytes - cachedBytes) / list.regionBytes + 1;
        PageRunBuf buf = list.returns.take(keep);
        if (buf != null) {
            list.countAllocation();
            return buf;
        }
        long room = keep - 1;
        int batch = (int) Math.max(1, Math.min(list.refillCount, room + 1));
        buf = arena.refill(list, batch, (int) Math.max(1, Math.min(Integer.MAX_VALUE, room + 1)), mayBackOff);
        if (buf != null) {
            list.countAllocation();
            list.arenaAllocations.lazySet(list.arenaAllocations.get() + 1);
        }
        return buf;
    }

    /** Owner: pushes a region refilled by the arena or returned by another thread on the private list. */
    void pushFree(FreeList list, PageRunBuf buf) {
        buf.next = list.head;
        list.head = buf;
        list.count++;
        addCachedBytes(list.regionBytes);
    }

    /**
     * Owner only: gives every cached region back and drains the return path. Returns the number of regions. Does
     * nothing to the private lists once they were reaped.
     */
    int trim() {
        assert Thread.currentThread() == owner : "trim of the cache of " + owner + " on " + Thread.currentThread();
        if (!setStateUnless(TRIMMING, REAPED)) {
            return drainReturned();
        }
        try {
            return releaseLists() + drainReturned();
        } finally {
            clearState(TRIMMING);
        }
    }

    /**
     * Any thread, once the owner terminated (or is ending, from its thread-local's removal): closes the cache and
     * hands its private lists back, exactly once; the caller that loses the race, or comes while a trim runs, gets
     * 0. Returns the number of regions, returned ones included.
     */
    int reap() {
        close();
        if (!setStateUnless(REAPED, REAPED | TRIMMING)) {
            return drainReturned();
        }
        return releaseLists() + drainReturned();
    }

    /** Holder of the claim (TRIMMING or REAPED) only: moves the private lists to the arena under one lock. */
    private int releaseLists() {
        PageRunBuf chain = null;
        long bytes = 0;
        int regions = 0;
        for (FreeList list : lists) {
            PageRunBuf node = list.head;
            while (node != null) {
                PageRunBuf next = node.next;
                node.next = chain;
                chain = node;
                node = next;
                bytes += list.regionBytes;
                regions++;
            }
            list.head = null;
            list.count = 0;
        }
        addCachedBytes(-bytes);
        if (chain != null) {
            arena.freeChain(chain);
        }
        return regions;
    }

    /** Any thread: gives back what other threads returned; returns the number of regions. */
    int drainReturned() {
        int regions = 0;
        for (FreeList list : lists) {
            regions += list.returns.drainToArena();
        }
        return regions;
    }

    long allocations() {
        long sum = 0;
        for (FreeList list : lists) {
            sum += list.allocations();
        }
        return sum;
    }

    long inFlightRegions() {
        long sum = 0;
        for (FreeList list : lists) {
            sum += list.allocations() - list.localReleases() - list.returns.remoteReleases();
        }
        return sum;
    }

    /** The cache of one size class: the owner's private list and counters, and the class's return ring. */
    static final class FreeList {
        private static final VarHandle ALLOCATIONS;
        private static final VarHandle LOCAL_RELEASES;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                ALLOCATIONS = lookup.findVarHandle(FreeList.class, "allocations", long.class);
                LOCAL_RELEASES = lookup.findVarHandle(FreeList.class, "localReleases", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final RunCache cache;
        final int sizeClass;
        final int regionBytes;
        final int refillCount;
        /** Where this class's buffers go when released; see {@link ReturnRing}. */
        final ReturnRing returns;

        // Owner thread.
        PageRunBuf head;
        int count;
        private long allocations;
        private long localReleases;
        /** Allocations that had to go to the arena (a subset of allocations). */
        final AtomicLong arenaAllocations = new AtomicLong();

        FreeList(RunCache cache, int sizeClass, int regionBytes, int refillCount, int ringSlots) {
            this.cache = cache;
            this.sizeClass = sizeClass;
            this.regionBytes = regionBytes;
            this.refillCount = refillCount;
            this.returns = new ReturnRing(this, cache.arena, cache.owner, cache.maxCachedBytes == 0,
                    ringSlots > 0 ? ringSlots : ReturnRing.ringSlots(cache.maxCachedBytes, regionBytes));
        }

        void countAllocation() {
            ALLOCATIONS.setRelease(this, allocations + 1);
        }

        long allocations() {
            return (long) ALLOCATIONS.getAcquire(this);
        }

        long localReleases() {
            return (long) LOCAL_RELEASES.getAcquire(this);
        }

        /** Owner thread, cache open: the buffer's reference count is zero. */
        void freeLocal(PageRunBuf buf) {
            RunCache c = cache;
            LOCAL_RELEASES.setRelease(this, localReleases + 1);
            if (c.cachedBytes + regionBytes <= c.maxCachedBytes) {
                buf.next = head;
                head = buf;
                count++;
                c.addCachedBytes(regionBytes);
            } else {
                c.arena.free(buf);
            }
        }
    }
}
