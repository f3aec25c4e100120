package io.ktls.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The way home of one size class of one thread cache: every buffer of the class points here, and this is the
 * only part of a cache other threads touch.
 *
 * <h2>Protocol</h2>
 * <ul>
 *   <li><b>Free on the owner thread</b> (cache open): handed to {@link RunCache.FreeList#freeLocal}.</li>
 *   <li><b>Free on any other thread</b>: count it, then push on {@link #top} with one CAS, no lock. It is counted
 *       before it becomes visible to the owner, so a reader never sees a region reallocated but not yet
 *       released.</li>
 *   <li><b>Take</b> (owner on a miss, the reclaim thread for closed or orphaned caches): {@code getAndSet(null)}
 *       of the whole stack. Only whole-stack takes ever remove entries, so the ABA hazard of popping one entry
 *       at a time cannot arise. A lost CAS race costs a retry, nothing else.</li>
 *   <li><b>Closed cache</b>: a releasing thread that sees {@link #closed} after its push takes the stack itself and
 *       gives it to the arena. Either it sees the flag, or the closing thread's take, which follows its write of
 *       the flag, sees the push: nothing is stranded.</li>
 * </ul>
 *
 * <p>Layout: the fields sit between two blocks of padding (superclass and subclass, which HotSpot lays out in
 * that order), so the releasing threads' CAS and counter do not share a cache line with the owner's free list
 * and counters. Measured in the hand-off benchmark: without it, every allocation and every remote release
 * bounced a line between the two threads.
 */
final class ReturnStack extends ReturnStackFields {
    @SuppressWarnings("unused")
    private long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;

    ReturnStack(RunCache.FreeList list, Arena arena, Thread owner, boolean cachingDisabled) {
        super(list, arena, owner, cachingDisabled);
    }
}

/** Padding before the fields; see {@link ReturnStack}. */
abstract class ReturnStackPadding {
    @SuppressWarnings("unused")
    private long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
}

/** The fields of {@link ReturnStack}: read-only ones first, then those written by releasing threads. */
abstract class ReturnStackFields extends ReturnStackPadding {
    private static final VarHandle TOP;
    private static final VarHandle REMOTE_RELEASES;
    private static final VarHandle DRAINED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            TOP = lookup.findVarHandle(ReturnStackFields.class, "top", PageRunBuf.class);
            REMOTE_RELEASES = lookup.findVarHandle(ReturnStackFields.class, "remoteReleases", long.class);
            DRAINED = lookup.findVarHandle(ReturnStackFields.class, "drained", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final RunCache.FreeList list;
    final Arena arena;
    final Thread owner;
    /** The cache bound is 0: frees from other threads go straight to the arena. */
    final boolean cachingDisabled;
    /** Set once when the cache closes (owner's thread-local removed, owner terminated, allocator closed). */
    volatile boolean closed;

    private volatile PageRunBuf top;
    private volatile long remoteReleases;
    /** Regions taken off the stack, counted by whoever took them. */
    private volatile long drained;

    ReturnStackFields(RunCache.FreeList list, Arena arena, Thread owner, boolean cachingDisabled) {
        this.list = list;
        this.arena = arena;
        this.owner = owner;
        this.cachingDisabled = cachingDisabled;
    }

    /** Called with the buffer's reference count at zero, on whatever thread released it. */
    final void free(PageRunBuf buf) {
        if (owner == Thread.currentThread() && !closed) {
            list.freeLocal(buf);
            return;
        }
        REMOTE_RELEASES.getAndAdd(this, 1L);
        if (cachingDisabled) {
            DRAINED.getAndAdd(this, 1L);
            arena.free(buf);
            return;
        }
        PageRunBuf expected;
        do {
            expected = top;
            buf.next = expected;
        } while (!TOP.weakCompareAndSet(this, expected, buf));
        if (closed) {
            PageRunBuf chain = takeAll();
            if (chain != null) {
                countDrained(arena.freeChain(chain));
            }
        }
    }

    /** Any thread: takes the whole stack; the caller counts what it took with {@link #countDrained}. */
    final PageRunBuf takeAll() {
        return top == null ? null : (PageRunBuf) TOP.getAndSet(this, null);
    }

    final void countDrained(long regions) {
        DRAINED.getAndAdd(this, regions);
    }

    final long remoteReleases() {
        return remoteReleases;
    }

    /** Regions other threads returned that nobody has taken yet (approximate while frees race). */
    final long pending() {
        return Math.max(0, remoteReleases - drained);
    }
}
