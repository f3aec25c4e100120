package io.ktls.allocator;

import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The background thread of one arena (FreeBSD's {@code ktls_reclaim_thread}): it does the slow work no allocating
 * thread should wait for. Woken after a failed run allocation, or by its timer every
 * {@code reclaimIntervalNanos}, it makes one pass of bounded work:
 * <ol>
 *   <li>caches whose owner terminated or closed: their returned regions, and (owner terminated) their private
 *       lists, go back to the arena ({@link RunCache#reap()}); a cache with nothing left in flight is retired;</li>
 *   <li>after a failure: the return rings and stacks of all caches are drained into the arena, so returned runs can
 *       coalesce, and every cache holding free regions is asked to trim;</li>
 *   <li>caches that did not allocate since the previous pass have their return rings and stacks drained (an idle
 *       owner would never take them) and are asked to trim too. A trim is a task on the cache's event loop through
 *       {@code execute()} (one queued at most), which trims only on the owner thread; the owner also trims at its
 *       next cache miss;</li>
 *   <li>runs in the arena's depot that no refill needed since the previous pass (all of them after a failure)
 *       are coalesced into the free-run index;</li>
 *   <li>entirely free slabs beyond one per arena are returned to the operating system.</li>
 * </ol>
 * At most {@code maxReclaimRegionsPerPass} regions are moved per pass. No failure of one cache's step (an
 * executor that throws, a double free refused by the arena) ends the pass: it is logged and counted
 * ({@link #stepFailures}) and the pass goes on with the next cache.
 *
 * <p>Threads: {@link #wake()} is called from any thread; everything else runs on the reclaim thread. The counters
 * are written by the reclaim thread only.
 */
final class Reclaimer implements Runnable {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(Reclaimer.class);

    private final Arena arena;
    private volatile Thread thread;
    private volatile boolean stopped;
    private volatile boolean wakeRequested;

    final AtomicLong wakeups = new AtomicLong();
    final AtomicLong failureWakeups = new AtomicLong();
    final AtomicLong passes = new AtomicLong();
    final AtomicLong reclaims = new AtomicLong();
    final AtomicLong trimsRequested = new AtomicLong();
    /** Steps of a pass that threw (logged, then skipped). */
    final AtomicLong stepFailures = new AtomicLong();
    volatile boolean running;

    Reclaimer(Arena arena) {
        this.arena = arena;
    }

    void start(String name) {
        Thread t = new Thread(this, name);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** Any thread: asks for a pass soon. Cheap when the thread is already running or already asked. */
    void wake() {
        if (!wakeRequested) {
            wakeRequested = true;
            Thread t = thread;
            if (t != null && !running) {
                LockSupport.unpark(t);
            }
        }
    }

    void stop() {
        stopped = true;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void run() {
        long intervalNanos = arena.parent.reclaimIntervalNanos;
        long nextTimedPass = System.nanoTime() + intervalNanos;
        while (!stopped) {
            running = false;
            long waitNanos = nextTimedPass - System.nanoTime();
            if (!wakeRequested && waitNanos > 0) {
                LockSupport.parkNanos(this, waitNanos);
                if (!wakeRequested && nextTimedPass - System.nanoTime() > 0) {
                    continue; // spurious wake-up
                }
            }
            if (stopped) {
                break;
            }
            running = true;
            boolean afterFailure = wakeRequested;
            wakeRequested = false;
            wakeups.incrementAndGet();
            if (afterFailure) {
                failureWakeups.incrementAndGet();
            }
            boolean timed = nextTimedPass - System.nanoTime() <= 0;
            if (timed) {
                nextTimedPass = System.nanoTime() + intervalNanos;
            }
            try {
                pass(afterFailure, timed);
            } catch (Throwable t) {
                logger.warn("reclaim pass of arena {} failed", arena.index, t);
            }
        }
        running = false;
    }

    /** One pass; package-private so tests can run it on their own thread. */
    void pass(boolean afterFailure, boolean timed) {
        Object event = AllocatorEvents.beginReclaimPass();
        passes.incrementAndGet();
        int budget = arena.parent.maxReclaimRegionsPerPass;
        long moved = 0;
        for (RunCache cache : arena.caches) {
            if (moved >= budget) {
                break;
            }
            try {
                moved += visit(cache, afterFailure, timed);
            } catch (Throwable t) {
                stepFailures.incrementAndGet();
                logger.warn("reclaim pass of arena {}: step for the cache of {} failed", arena.index, cache.owner, t);
            }
        }
        if (afterFailure || timed) {
            moved += arena.flushDepots(Math.max(0, budget - (int) Math.min(moved, budget)), afterFailure);
        }
        moved += arena.releaseEmptySlabs(1);
        reclaims.addAndGet(moved);
        AllocatorEvents.endReclaimPass(event, arena.parent.name(), arena.index, moved, afterFailure);
    }

    /** One cache's share of a pass; returns the regions moved. */
    private long visit(RunCache cache, boolean afterFailure, boolean timed) {
        long moved = 0;
        boolean ownerGone = !cache.owner.isAlive();
        if (ownerGone || cache.isClosed()) {
            if (ownerGone) {
                // isAlive() == false orders every write of the owner before this point; reap() closes the cache
                // first, which sends later frees straight to the arena, and hands the lists back exactly once.
                moved += cache.reap();
            } else {
                moved += cache.drainReturned();
            }
            if (cache.inFlightRegions() == 0) {
                arena.retire(cache);
            }
            return moved;
        }
        boolean trim = false;
        if (afterFailure) {
            moved += cache.drainReturned();
            // Runs of the wrong size sitting in other caches are what keeps the arena from coalescing.
            trim = cache.cachedBytes() > 0;
        }
        if (timed) {
            long allocations = cache.allocations();
            boolean idle = allocations == cache.allocationsAtLastPass;
            cache.allocationsAtLastPass = allocations;
            if (idle) {
                // An idle owner never takes what other threads returned: bring it home from here (the drain is
                // safe on any thread, and skips a ring the owner is taking from).
                moved += cache.drainReturned();
                trim |= cache.cachedBytes() > 0;
            }
        }
        if (trim) {
            requestTrim(cache);
        }
        return moved;
    }

    private void requestTrim(RunCache cache) {
        trimsRequested.incrementAndGet();
        // The owner trims at its next miss in any case; the task only makes an idle event loop do it sooner.
        cache.trimRequested = true;
        if (cache.executor != null && !cache.executor.isShuttingDown() && cache.queueTrimTask()) {
            try {
                cache.executor.execute(cache.trimTask);
            } catch (Throwable t) {
                // Rejected (shutting down), or an executor that throws: the owner's next miss will do.
                cache.trimTaskNotQueued();
                if (!(t instanceof RejectedExecutionException)) {
                    stepFailures.incrementAndGet();
                    logger.debug("executor of the cache of {} refused a trim task", cache.owner, t);
                }
            }
        }
    }
}
