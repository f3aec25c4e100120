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
 *       lists, go back to the arena; a cache with nothing left in flight is retired;</li>
 *   <li>after a failure: the return rings and stacks of all caches are drained into the arena, so returned runs can
 *       coalesce, and every cache holding free regions is asked to trim;</li>
 *   <li>caches that did not allocate since the previous pass are asked to trim too. A trim runs on the cache's
 *       event loop through {@code execute()}, or on its owner thread at its next cache miss;</li>
 *   <li>runs in the arena's depot that no refill needed since the previous pass (all of them after a failure)
 *       are coalesced into the free-run index;</li>
 *   <li>entirely free slabs beyond one per arena are returned to the operating system.</li>
 * </ol>
 * At most {@code maxReclaimRegionsPerPass} regions are moved per pass.
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
        passes.incrementAndGet();
        int budget = arena.parent.maxReclaimRegionsPerPass;
        long moved = 0;
        for (RunCache cache : arena.caches) {
            if (moved >= budget) {
                break;
            }
            boolean ownerGone = !cache.owner.isAlive();
            if (ownerGone || cache.isClosed()) {
                if (ownerGone && !cache.isClosed()) {
                    // isAlive() == false orders every write of the owner before this point. Closing first sends
                    // later frees straight to the arena.
                    cache.close();
                    moved += cache.trim();
                }
                moved += cache.drainReturned();
                if (cache.inFlightRegions() == 0) {
                    arena.parent.retire(cache);
                }
                continue;
            }
            boolean trim = false;
            if (afterFailure) {
                moved += cache.drainReturned();
                // Runs of the wrong size sitting in other caches are what keeps the arena from coalescing.
                trim = cache.cachedBytes() > 0;
            }
            if (timed) {
                long allocations = cache.allocations();
                trim |= allocations == cache.allocationsAtLastPass && cache.cachedBytes() > 0;
                cache.allocationsAtLastPass = allocations;
            }
            if (trim) {
                requestTrim(cache);
            }
        }
        if (afterFailure || timed) {
            moved += arena.flushDepots(Math.max(0, budget - (int) Math.min(moved, budget)), afterFailure);
        }
        moved += arena.releaseEmptySlabs(1);
        reclaims.addAndGet(moved);
    }

    private void requestTrim(RunCache cache) {
        trimsRequested.incrementAndGet();
        if (cache.executor != null && !cache.executor.isShuttingDown()) {
            try {
                cache.executor.execute(() -> {
                    if (!cache.isClosed()) {
                        cache.trim();
                    }
                });
                return;
            } catch (RejectedExecutionException ignored) {
                // Shutting down: fall through to the owner's next miss.
            }
        }
        cache.trimRequested = true;
    }
}
