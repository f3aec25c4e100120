package io.ktls.handler;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many threads acquire, wait and release on a budget a few records deep, each thread its own "event loop" (a
 * queue it takes its resume task from): a lost wake-up leaves a thread waiting past the time bound, a grant
 * counted twice or never shows in the final count. Without jcstress: interleavings come from numbers, not from a
 * model checker, so it runs long enough to meet the release-right-after-a-failed-acquire race many times.
 */
@Tag("stress")
class RecordMemoryBudgetStressTest {

    private static final int THREADS = 6;
    private static final int ROUNDS = 4_000;
    private static final long UNIT = 16_413;
    /** Half the threads: at any time some wait while others hold. */
    private static final long CAPACITY_UNITS = THREADS / 2;
    private static final long WAIT_BOUND_SECONDS = 20;
    /**
     * Waits the run must have seen, across threads, before it stops after {@link #ROUNDS}: on a loaded machine the
     * threads may otherwise take turns rather than overlap, and a run without contention proves nothing.
     */
    private static final long MIN_WAITS = 200;
    private static final long CONTENTION_BOUND_SECONDS = 30;

    /**
     * One connection: holds up to two units, giving back the oldest before it asks for a third. While it waits it
     * still gives back what it holds, a millisecond apart, as a real connection's own write completions free its
     * records; so connections that wait while holding cannot deadlock, and the release-after-a-failed-acquire race
     * is met on both sides.
     */
    private static final class Connection extends RecordMemoryBudget.Waiter implements Executor, Runnable {
        final RecordMemoryBudget budget;
        final BlockingQueue<Runnable> loop = new ArrayBlockingQueue<>(4);
        final AtomicLong maxSeen;
        final AtomicLong allWaits;
        int held;
        long waits;

        Connection(RecordMemoryBudget budget, AtomicLong maxSeen, AtomicLong allWaits) {
            this.budget = budget;
            this.maxSeen = maxSeen;
            this.allWaits = allWaits;
        }

        @Override
        Executor executor() {
            return this;
        }

        @Override
        public void execute(Runnable task) {
            if (!loop.offer(task)) {
                throw new AssertionError("a second resume task while one is pending: a waiter served twice");
            }
        }

        /** The resume task: takes the grant on this connection's own thread. */
        @Override
        public void run() {
            long granted = budget.takeGrant(this);
            if (granted != UNIT) {
                throw new AssertionError("granted " + granted + " (expected: " + UNIT + ")");
            }
            held++;
        }

        void runRounds(CountDownLatch start) throws InterruptedException {
            start.await();
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(CONTENTION_BOUND_SECONDS);
            for (int round = 0; round < ROUNDS || allWaits.get() < MIN_WAITS && System.nanoTime() < giveUp; round++) {
                if (held == 2) {
                    held--;
                    budget.release(UNIT);
                }
                if (budget.acquireOrWait(this, UNIT)) {
                    held++;
                } else {
                    waits++;
                    allWaits.incrementAndGet();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_BOUND_SECONDS);
                    Runnable resume;
                    while ((resume = loop.poll(1, TimeUnit.MILLISECONDS)) == null && System.nanoTime() < deadline) {
                        if (held > 0) {
                            held--;
                            budget.release(UNIT); // one of its own records completed meanwhile
                        }
                    }
                    if (resume == null) {
                        throw new AssertionError("never resumed: a lost wake-up (round " + round + ", used "
                                + budget.usedBytes() + ", waiting " + budget.waitingConnections() + ')');
                    }
                    resume.run();
                }
                long used = budget.usedBytes();
                maxSeen.accumulateAndGet(used, Math::max);
            }
            budget.release(held * UNIT);
            held = 0;
        }
    }

    @Test
    void everyWaiterIsResumedAndEveryByteComesBackUnderContention() throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("stress", CAPACITY_UNITS * UNIT, 1);
        AtomicLong maxSeen = new AtomicLong();
        AtomicLong allWaits = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        List<Connection> connections = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Connection connection = new Connection(budget, maxSeen, allWaits);
            connections.add(connection);
            Thread thread = new Thread(() -> {
                try {
                    connection.runRounds(start);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }, "budget-stress-" + i);
            threads.add(thread);
            thread.start();
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(120));
            assertTrue(!thread.isAlive(), thread.getName() + " did not finish");
        }
        assertNull(failure.get());
        assertEquals(0, budget.usedBytes());
        assertEquals(0, budget.waitingConnections());
        assertTrue(maxSeen.get() <= CAPACITY_UNITS * UNIT, "the pool never lends beyond its capacity: " + maxSeen.get());
        long waits = connections.stream().mapToLong(c -> c.waits).sum();
        assertEquals(waits, budget.waits());
        assertTrue(waits >= MIN_WAITS, "the budget was contended: " + waits + " waits");
    }
}
