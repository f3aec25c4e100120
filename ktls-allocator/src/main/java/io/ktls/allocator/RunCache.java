package io.ktls.allocator;

import io.netty.util.concurrent.EventExecutor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One thread's cache of free regions, one {@link FreeList} per cached size class, bounded by
 * {@code maxCachedBytes} in total, bound to one {@link Arena} for its whole life.
 *
 * <h2>Protocol</h2>
 * <ul>
 *   <li><b>Allocate</b> (owner): pop the private list; if empty, take the whole return stack with one
 *       {@code getAndSet} and keep as much of it as the bound allows (the rest goes to the arena); if that is
 *       empty too, refill a batch from the arena under its lock.</li>
 *   <li><b>Free on the owner thread</b>: push on the private list, or give the region to the arena when the bound
 *       would be exceeded.</li>
 *   <li><b>Free on any other thread</b>: count it, then push on the list's return stack (a Treiber stack:
 *       one CAS, no lock). Only whole-stack takes ever remove entries, so the classic ABA hazard of popping one
 *       entry at a time cannot arise. A lost CAS race costs a retry, nothing else.</li>
 *   <li><b>Trim</b> (owner, or the arena's reclaim thread once the owner has terminated): give everything
 *       back to the arena.</li>
 * </ul>
 *
 * <p>Threads: the private lists and {@link #cachedBytes} belong to the owner thread; counters that other threads
 * read are written with release semantics and read with acquire semantics, which costs nothing extra on x86.
 * The reclaim thread touches private lists only after {@link Thread#isAlive()} returned false for the owner,
 * which orders all of the owner's writes before its reads (JLS 17.4.4).
 */
final class RunCache {
    private static final VarHandle CACHED_BYTES;

    static {
        try {
            CACHED_BYTES = MethodHandles.lookup().findVarHandle(RunCache.class, "cachedBytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Arena arena;
    final Thread owner;
    /** The owner's event loop, if it is one: idle trimming is then run on it with execute(). */
    final EventExecutor executor;
    final long maxCachedBytes;
    final FreeList[] lists;

    /** Bytes on the private lists; owner writes, metrics read. */
    private long cachedBytes;
    /** Set by the owner when its thread-local is removed; frees then bypass the private lists. */
    volatile boolean closed;
    /** Set by the reclaim thread when the cache sat idle for a whole interval; the owner trims on its next miss. */
    volatile boolean trimRequested;
    /** Reclaim thread only: allocation count seen at its previous pass, to tell an idle cache. */
    long allocationsAtLastPass = -1;

    RunCache(Arena arena, Thread owner, EventExecutor executor, long maxCachedBytes, int[] regionBytesByClass,
             int[] refillCountByClass) {
        this.arena = arena;
        this.owner = owner;
        this.executor = executor;
        this.maxCachedBytes = maxCachedBytes;
        lists = new FreeList[regionBytesByClass.length];
        for (int i = 0; i < lists.length; i++) {
            lists[i] = new FreeList(this, i, regionBytesByClass[i], refillCountByClass[i]);
        }
    }

    long cachedBytes() {
        return (long) CACHED_BYTES.getAcquire(this);
    }

    private void addCachedBytes(long delta) {
        CACHED_BYTES.setRelease(this, cachedBytes + delta);
    }

    /** Owner only. Returns a free region of the class, or null when the arena could not supply one. */
    PageRunBuf allocate(int sizeClass) {
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
        return allocateSlow(list);
    }

    private PageRunBuf allocateSlow(FreeList list) {
        assert Thread.currentThread() == owner : "cache of " + owner + " used by " + Thread.currentThread();
        if (trimRequested) {
            trimRequested = false;
            trim();
        }
        PageRunBuf buf = list.takeReturned();
        if (buf != null) {
            adopt(list, buf.next);
            buf.next = null;
            list.countAllocation();
            return buf;
        }
        long room = (maxCachedBytes - cachedBytes) / list.regionBytes;
        int batch = (int) Math.max(1, Math.min(list.refillCount, room + 1));
        buf = arena.refill(list, batch);
        if (buf != null) {
            list.countAllocation();
            list.arenaAllocations.lazySet(list.arenaAllocations.get() + 1);
        }
        return buf;
    }

    /** Keeps as much of a returned chain as the bound allows, gives the rest to the arena. */
    private void adopt(FreeList list, PageRunBuf chain) {
        long room = (maxCachedBytes - cachedBytes) / list.regionBytes;
        PageRunBuf tail = null;
        PageRunBuf node = chain;
        int kept = 0;
        while (node != null && kept < room) {
            tail = node;
            node = node.next;
            kept++;
        }
        if (tail != null) {
            tail.next = list.head;
            list.head = chain;
            list.count += kept;
            addCachedBytes((long) kept * list.regionBytes);
        }
        if (node != null) {
            arena.freeChain(node);
        }
    }

    /** Pushes refilled regions on the private list (owner, called by the arena under its lock). */
    void pushRefilled(FreeList list, PageRunBuf buf) {
        buf.next = list.head;
        list.head = buf;
        list.count++;
        addCachedBytes(list.regionBytes);
    }

    /** Owner only (or the reclaim thread after the owner terminated): gives every cached region back. */
    int trim() {
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
            PageRunBuf returned = list.takeReturned();
            while (returned != null) {
                PageRunBuf next = returned.next;
                returned.next = chain;
                chain = returned;
                returned = next;
                regions++;
            }
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
            PageRunBuf chain = list.takeReturned();
            if (chain != null) {
                for (PageRunBuf n = chain; n != null; n = n.next) {
                    regions++;
                }
                arena.freeChain(chain);
            }
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
            sum += list.allocations() - list.localReleases() - list.remoteReleases.get();
        }
        return sum;
    }

    /**
     * The cache of one size class. Owner-written fields first; the return stack and its counters are written by
     * any thread.
     */
    static final class FreeList {
        private static final VarHandle ALLOCATIONS;
        private static final VarHandle LOCAL_RELEASES;
        private static final VarHandle RETURNED;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                ALLOCATIONS = lookup.findVarHandle(FreeList.class, "allocations", long.class);
                LOCAL_RELEASES = lookup.findVarHandle(FreeList.class, "localReleases", long.class);
                RETURNED = lookup.findVarHandle(FreeList.class, "returned", PageRunBuf.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final RunCache cache;
        final int sizeClass;
        final int regionBytes;
        final int refillCount;

        // Owner thread.
        PageRunBuf head;
        int count;
        private long allocations;
        private long localReleases;
        /** Allocations that had to go to the arena (a subset of allocations). */
        final AtomicLong arenaAllocations = new AtomicLong();

        // Any thread: the return stack (a Treiber stack through PageRunBuf.next) and its counters. The counters
        // are separate objects, usually on other cache lines than the owner's fields.
        private volatile PageRunBuf returned;
        final AtomicLong remoteReleases = new AtomicLong();
        final AtomicLong drained = new AtomicLong();

        FreeList(RunCache cache, int sizeClass, int regionBytes, int refillCount) {
            this.cache = cache;
            this.sizeClass = sizeClass;
            this.regionBytes = regionBytes;
            this.refillCount = refillCount;
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

        /** Regions other threads returned that nobody has taken yet (approximate while frees race). */
        long pendingReturns() {
            return Math.max(0, remoteReleases.get() - drained.get());
        }

        /** Called with the buffer's reference count at zero, on whatever thread released it. */
        void free(PageRunBuf buf) {
            RunCache c = cache;
            if (c.owner == Thread.currentThread() && !c.closed) {
                LOCAL_RELEASES.setRelease(this, localReleases + 1);
                if (c.cachedBytes + regionBytes <= c.maxCachedBytes) {
                    buf.next = head;
                    head = buf;
                    count++;
                    c.addCachedBytes(regionBytes);
                } else {
                    c.arena.free(buf);
                }
                return;
            }
            // Counted before it becomes visible to the owner, so a reader never sees it reallocated but not
            // yet released.
            remoteReleases.incrementAndGet();
            if (c.maxCachedBytes == 0) {
                drained.incrementAndGet();
                c.arena.free(buf);
                return;
            }
            PageRunBuf top;
            do {
                top = returned;
                buf.next = top;
            } while (!RETURNED.weakCompareAndSet(this, top, buf));
            if (c.closed) {
                // The owner will never take it: give it (and whatever else is there) to the arena. Either this
                // read sees closed, or the closing thread's drain, which follows its write of closed, sees the push.
                PageRunBuf chain = takeReturned();
                if (chain != null) {
                    c.arena.freeChain(chain);
                }
            }
        }

        /** Any thread: takes the whole return stack. */
        PageRunBuf takeReturned() {
            if (returned == null) {
                return null;
            }
            PageRunBuf chain = (PageRunBuf) RETURNED.getAndSet(this, null);
            if (chain != null) {
                long n = 0;
                for (PageRunBuf node = chain; node != null; node = node.next) {
                    n++;
                }
                drained.addAndGet(n);
            }
            return chain;
        }
    }
}
