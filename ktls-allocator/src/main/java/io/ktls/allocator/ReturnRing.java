package io.ktls.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The way home of one size class of one thread cache: every buffer of the class points here, and this is the
 * only part of a cache other threads touch. Returned regions wait in a ring of slots (the fast path) or, when
 * the ring is full, on a linked stack, until the owner takes them on a miss.
 *
 * <h2>Protocol</h2>
 * <ul>
 *   <li><b>Free on the owner thread</b> (cache open): handed to {@link RunCache.FreeList#freeLocal}.</li>
 *   <li><b>Free on any other thread</b>: claim the next slot of the ring by a CAS on {@link #tail}, then store
 *       the buffer in it with release semantics. The claim is the count: a region is counted before the owner can
 *       see it, so a reader never sees a region reallocated but not yet released. The buffer object itself is
 *       not written, so the releasing thread does not wait for its cache line (the owner wrote it last) before
 *       its next atomic operation. Ring full (the owner is far behind): count, then push on {@link #top} with one
 *       CAS, linking through {@link PageRunBuf#next}.</li>
 *   <li><b>Take</b> (owner on a miss): under {@link #drainLock} (a try-lock: a busy lock means another thread
 *       is draining, and the owner goes on to the stack and the arena instead of waiting), read the slots from {@link #head}
 *       up to {@link #tail} in order, stopping at the first slot claimed but not yet stored; clear them, then
 *       publish the new head with release semantics (a releaser reuses a slot only after it has read that head,
 *       so it never finds it occupied). The stack is taken whole with {@code getAndSet(null)}: only whole-stack
 *       takes remove entries, so the ABA hazard of popping one entry at a time cannot arise. What the cache bound
 *       does not allow the owner to keep goes to the arena under one lock.</li>
 *   <li><b>Closed cache</b>: a releasing thread that sees {@link #closed} after its store drains everything
 *       itself into the arena ({@link #drainToArena()}, complete once closed: it waits for the lock and
 *       for slots claimed before its own). Either it sees the flag, or the closing thread's complete drain, which
 *       follows its write of the flag, sees the claim: nothing is stranded.</li>
 * </ul>
 * A lost CAS race costs a retry, nothing else; no thread ever blocks, except a complete drain of a closed cache,
 * which waits for the few instructions between another releaser's claim and its store (spinning briefly, then
 * yielding so a descheduled releaser gets the CPU back). The reclaim thread also drains the ring of an idle open
 * cache; that drain, like the owner's take, skips a ring another thread is draining and never waits.
 *
 * <p>Layout: three groups of fields separated by padding (HotSpot lays out superclass fields first): fields
 * fixed at construction and the releasers' {@link #tail}, {@link #top} and counter; then the drainers'
 * {@link #head}, counter and lock, so neither side's writes invalidate the other's line on every buffer (without
 * the padding every allocation and every remote release would move a line between the two threads; see
 * docs/allocator.md, "Benchmarks").
 */
final class ReturnRing extends ReturnRingDrainerFields {
    /** Fewest slots of a ring: enough for a burst of a few buffers of the largest cached class. */
    static final int MIN_RING_SLOTS = 16;
    /** Most slots: a ring of the smallest fragments stays one kilobyte of references. */
    static final int MAX_RING_SLOTS = 256;

    private static final VarHandle TOP;
    private static final VarHandle TAIL;
    private static final VarHandle STACK_RELEASES;
    private static final VarHandle HEAD;
    private static final VarHandle DRAINED;
    private static final VarHandle DRAIN_LOCK;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(PageRunBuf[].class);

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            TOP = lookup.findVarHandle(ReturnRingReleaserFields.class, "top", PageRunBuf.class);
            TAIL = lookup.findVarHandle(ReturnRingReleaserFields.class, "tail", long.class);
            STACK_RELEASES = lookup.findVarHandle(ReturnRingReleaserFields.class, "stackReleases", long.class);
            HEAD = lookup.findVarHandle(ReturnRingDrainerFields.class, "head", long.class);
            DRAINED = lookup.findVarHandle(ReturnRingDrainerFields.class, "drained", long.class);
            DRAIN_LOCK = lookup.findVarHandle(ReturnRingDrainerFields.class, "drainLock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused")
    private long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p2a, p2b, p2c, p2d, p2e, p2f;

    ReturnRing(RunCache.FreeList list, Arena arena, Thread owner, boolean cachingDisabled, int ringSlots) {
        super(list, arena, owner, cachingDisabled, cachingDisabled ? null : new PageRunBuf[ringSlots]);
    }

    /** Slots of the ring for regions of {@code regionBytes}: twice what the bound lets a cache hold, a power of 2. */
    static int ringSlots(long maxCachedBytes, int regionBytes) {
        long regions = Math.max(1, 2 * maxCachedBytes / regionBytes);
        int slots = MIN_RING_SLOTS;
        while (slots < regions && slots < MAX_RING_SLOTS) {
            slots <<= 1;
        }
        return slots;
    }

    /** Called with the buffer's reference count at zero, on whatever thread released it. */
    void free(PageRunBuf buf) {
        if (owner == Thread.currentThread() && !closed) {
            list.freeLocal(buf);
            return;
        }
        if (cachingDisabled) {
            STACK_RELEASES.getAndAdd(this, 1L);
            DRAINED.getAndAdd(this, 1L);
            arena.free(buf);
            return;
        }
        if (!offer(buf)) {
            STACK_RELEASES.getAndAdd(this, 1L);
            PageRunBuf expected;
            do {
                expected = top;
                buf.next = expected;
            } while (!TOP.weakCompareAndSet(this, expected, buf));
        }
        if (closed) {
            drainToArena();
        }
    }

    /** Claims a slot and stores {@code buf} in it; false when the ring is full. */
    private boolean offer(PageRunBuf buf) {
        PageRunBuf[] slots = ring;
        int mask = slots.length - 1;
        for (;;) {
            long t = tail;
            if (t - (long) HEAD.getAcquire(this) > mask) {
                return false;
            }
            if (TAIL.weakCompareAndSet(this, t, t + 1)) {
                SLOT.setRelease(slots, (int) t & mask, buf);
                return true;
            }
        }
    }

    /**
     * Owner, on a miss: takes up to {@code keep} returned regions, the first for the caller and the others onto
     * the private list; anything returned beyond {@code keep} goes to the arena. Returns null when nothing was
     * returned. The ring is skipped while another thread drains it: the owner never waits.
     */
    PageRunBuf take(long keep) {
        assert keep >= 1 : "keep " + keep;
        PageRunBuf first = null;
        PageRunBuf spill = null;
        PageRunBuf spillTail = null;
        int spilled = 0;
        long kept = 0;
        if (ring != null && lockRing(false)) {
            try {
                PageRunBuf[] slots = ring;
                int mask = slots.length - 1;
                long h = head;
                long t = (long) TAIL.getAcquire(this);
                for (; h < t; h++) {
                    PageRunBuf buf = (PageRunBuf) SLOT.getAcquire(slots, (int) h & mask);
                    if (buf == null) {
                        break; // claimed, not stored yet: the next take gets it
                    }
                    slots[(int) h & mask] = null;
                    if (first == null) {
                        first = buf;
                        kept++;
                    } else if (kept < keep) {
                        list.cache.pushFree(list, buf);
                        kept++;
                    } else {
                        buf.next = spill;
                        spill = buf;
                        spillTail = spilled++ == 0 ? buf : spillTail;
                    }
                }
                HEAD.setRelease(this, h);
            } finally {
                DRAIN_LOCK.setRelease(this, 0);
            }
        }
        if (top != null) {
            PageRunBuf node = (PageRunBuf) TOP.getAndSet(this, null);
            long stacked = 0;
            while (node != null) {
                PageRunBuf next = node.next;
                node.next = null;
                if (first == null) {
                    first = node;
                    kept++;
                } else if (kept < keep) {
                    list.cache.pushFree(list, node);
                    kept++;
                } else {
                    node.next = spill;
                    spill = node;
                    spillTail = spilled++ == 0 ? node : spillTail;
                }
                stacked++;
                node = next;
            }
            DRAINED.getAndAdd(this, stacked);
        }
        if (spill != null) {
            // Runs of one size go to the depot whole, in O(1): the next refill that needs them takes them back.
            int pages = SizeClasses.runPages(list.sizeClass);
            if (pages < 1 || !arena.parkRuns(spill, spillTail, spilled, pages)) {
                arena.freeChain(spill);
            }
        }
        return first;
    }

    /**
     * Any thread: gives every returned region to the arena and returns their number. Once the cache is closed
     * the drain is complete: it waits for the drain lock and for every slot claimed before it started, so nothing
     * returned before the call is left behind. An open cache's drain skips a busy lock and stops at a slot not
     * stored yet (the owner takes it later), so the owner thread never waits here.
     */
    int drainToArena() {
        boolean complete = closed;
        int regions = 0;
        PageRunBuf chain = null;
        if (ring != null && lockRing(complete)) {
            try {
                PageRunBuf[] slots = ring;
                int mask = slots.length - 1;
                long h = head;
                long t = (long) TAIL.getAcquire(this);
                for (; h < t; h++) {
                    PageRunBuf buf = (PageRunBuf) SLOT.getAcquire(slots, (int) h & mask);
                    for (int spins = 0; buf == null && complete; spins++) {
                        backOff(spins);
                        buf = (PageRunBuf) SLOT.getAcquire(slots, (int) h & mask);
                    }
                    if (buf == null) {
                        break;
                    }
                    slots[(int) h & mask] = null;
                    buf.next = chain;
                    chain = buf;
                    regions++;
                }
                HEAD.setRelease(this, h);
            } finally {
                DRAIN_LOCK.setRelease(this, 0);
            }
        }
        if (chain != null) {
            arena.freeChain(chain);
        }
        PageRunBuf stack = takeStack();
        if (stack != null) {
            int n = arena.freeChain(stack);
            DRAINED.getAndAdd(this, (long) n);
            regions += n;
        }
        return regions;
    }

    /** Takes the drain lock; {@code wait}: spin until it is free (closed caches only), else give up at once. */
    private boolean lockRing(boolean wait) {
        for (int spins = 0; !DRAIN_LOCK.compareAndSet(this, 0, 1); spins++) {
            if (!wait) {
                return false;
            }
            backOff(spins);
        }
        return true;
    }

    /**
     * A complete drain waits for another thread's next few instructions (a store after its claim, or the end of
     * its drain): spin briefly, then yield, so a releaser descheduled between claim and store gets the CPU back
     * instead of being spun against.
     */
    private static void backOff(int spins) {
        if (spins < 64) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
    }

    /** Any thread: takes the whole overflow stack; the caller gives it to the arena. */
    private PageRunBuf takeStack() {
        return top == null ? null : (PageRunBuf) TOP.getAndSet(this, null);
    }

    /** Regions released on other threads so far; each is counted before its owner can take it. */
    long remoteReleases() {
        return (long) TAIL.getAcquire(this) + (long) STACK_RELEASES.getAcquire(this);
    }

    /** Regions other threads returned that nobody has taken yet (approximate while frees race). */
    long pending() {
        // Taken counts first: each never exceeds its released count, so neither difference is negative.
        long taken = (long) HEAD.getAcquire(this);
        long ring = (long) TAIL.getAcquire(this) - taken;
        long drainedFromStack = (long) DRAINED.getAcquire(this);
        long stack = (long) STACK_RELEASES.getAcquire(this) - drainedFromStack;
        return Math.max(0, ring + stack);
    }
}

/** Padding before the fields; see {@link ReturnRing}. */
abstract class ReturnRingPadding {
    @SuppressWarnings("unused")
    private long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
}

/** Fields fixed at construction, then those written by releasing threads. */
abstract class ReturnRingReleaserFields extends ReturnRingPadding {
    final RunCache.FreeList list;
    final Arena arena;
    final Thread owner;
    /** The cache bound is 0: frees from other threads go straight to the arena. */
    final boolean cachingDisabled;
    /** Slots of returned regions, a power of two in length; null when caching is disabled. */
    final PageRunBuf[] ring;
    /** Set once when the cache closes (owner's thread-local removed, owner terminated, allocator closed). */
    volatile boolean closed;

    /** Ring slots claimed so far (slot {@code tail & mask} is the next): the count of ring releases. */
    volatile long tail;
    /** Overflow stack, linked through {@link PageRunBuf#next}. */
    volatile PageRunBuf top;
    /** Releases through the stack, or straight to the arena when caching is disabled. */
    volatile long stackReleases;

    ReturnRingReleaserFields(RunCache.FreeList list, Arena arena, Thread owner, boolean cachingDisabled,
                              PageRunBuf[] ring) {
        this.list = list;
        this.arena = arena;
        this.owner = owner;
        this.cachingDisabled = cachingDisabled;
        this.ring = ring;
    }
}

/** Padding between the releasers' and the drainers' fields; see {@link ReturnRing}. */
abstract class ReturnRingMiddlePadding extends ReturnRingReleaserFields {
    @SuppressWarnings("unused")
    private long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;

    ReturnRingMiddlePadding(RunCache.FreeList list, Arena arena, Thread owner, boolean cachingDisabled,
                             PageRunBuf[] ring) {
        super(list, arena, owner, cachingDisabled, ring);
    }
}

/** Fields written by the thread that drains (the owner, or a closing or reclaiming thread under the lock). */
abstract class ReturnRingDrainerFields extends ReturnRingMiddlePadding {
    /** Ring slots taken so far (slot {@code head & mask} is the oldest not taken); written under the lock. */
    volatile long head;
    /** Regions taken off the stack (or, caching disabled, freed straight to the arena). */
    volatile long drained;
    /** 1 while a thread drains the ring. */
    volatile int drainLock;

    ReturnRingDrainerFields(RunCache.FreeList list, Arena arena, Thread owner, boolean cachingDisabled,
                             PageRunBuf[] ring) {
        super(list, arena, owner, cachingDisabled, ring);
    }
}
