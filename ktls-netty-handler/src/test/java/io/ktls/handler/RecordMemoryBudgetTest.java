package io.ktls.handler;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The budget's accounting and queue, single-threaded: each waiter's executor is a queue the test runs. */
class RecordMemoryBudgetTest {

    /** A waiter whose executor queues its resume task until the test runs it; counts the bytes it was granted. */
    static final class QueuedWaiter extends RecordMemoryBudget.Waiter implements Executor {
        final RecordMemoryBudget budget;
        final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        final List<String> log;
        final String name;
        long held;

        QueuedWaiter(RecordMemoryBudget budget, String name, List<String> log) {
            this.budget = budget;
            this.name = name;
            this.log = log;
        }

        @Override
        Executor executor() {
            return this;
        }

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        @Override
        public void run() {
            long granted = budget.takeGrant(this);
            held += granted;
            log.add(name + " resumed with " + granted);
        }

        boolean acquire(long bytes) {
            boolean now = budget.acquireOrWait(this, bytes);
            if (now) {
                held += bytes;
            }
            return now;
        }

        void runTasks() {
            Runnable task;
            while ((task = tasks.poll()) != null) {
                task.run();
            }
        }
    }

    private final List<String> log = new ArrayList<>();

    @Test
    void takesFromThePoolWhileTheBytesFitAndRemembersThePeak() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter a = new QueuedWaiter(budget, "a", log);
        assertTrue(a.acquire(60));
        assertTrue(a.acquire(40));
        assertEquals(100, budget.usedBytes());
        budget.release(70);
        assertEquals(30, budget.usedBytes());
        assertEquals(100, budget.peakUsedBytes());
        assertEquals(0, budget.waits());
    }

    @Test
    void aReleaseRightAfterAFailedAcquireResumesTheWaiterOnItsOwnExecutor() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter holder = new QueuedWaiter(budget, "holder", log);
        QueuedWaiter waiter = new QueuedWaiter(budget, "waiter", log);
        assertTrue(holder.acquire(100));
        assertFalse(waiter.acquire(50));
        assertEquals(1, budget.waits());
        assertEquals(1, budget.waitingConnections());
        budget.release(50);
        assertEquals(0, budget.waitingConnections());
        assertEquals(100, budget.usedBytes(), "reserved for the waiter at once");
        assertTrue(log.isEmpty(), "not resumed inline on the releasing thread");
        waiter.runTasks();
        assertEquals(List.of("waiter resumed with 50"), log);
        assertEquals(50, waiter.held);
    }

    @Test
    void waitersAreServedInArrivalOrderAndNewcomersQueueBehindThem() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter holder = new QueuedWaiter(budget, "holder", log);
        QueuedWaiter first = new QueuedWaiter(budget, "first", log);
        QueuedWaiter second = new QueuedWaiter(budget, "second", log);
        QueuedWaiter newcomer = new QueuedWaiter(budget, "newcomer", log);
        assertTrue(holder.acquire(100));
        assertFalse(first.acquire(60));
        assertFalse(second.acquire(30));
        budget.release(40); // 40 free: not enough for the head, and the second may not pass it
        assertEquals(2, budget.waitingConnections());
        assertFalse(newcomer.acquire(10), "the bytes fit, but others wait: a newcomer queues behind them");
        budget.release(40); // 80 free: the second (30) would fit, but the head (60) comes first
        assertEquals(1, first.tasks.size());
        assertTrue(second.tasks.isEmpty() && newcomer.tasks.isEmpty());
        budget.release(20); // the holder's last bytes: now the second (30), then the newcomer (10)
        first.runTasks();
        second.runTasks();
        newcomer.runTasks();
        assertEquals(List.of("first resumed with 60", "second resumed with 30", "newcomer resumed with 10"), log);
        assertEquals(100, budget.usedBytes());
        assertEquals(3, budget.waits());
        assertEquals(0, budget.waitingConnections());
    }

    @Test
    void aWaiterCancelledBeforeItsResumeRanGivesItsGrantToTheNextWaiter() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter holder = new QueuedWaiter(budget, "holder", log);
        QueuedWaiter closing = new QueuedWaiter(budget, "closing", log);
        QueuedWaiter next = new QueuedWaiter(budget, "next", log);
        assertTrue(holder.acquire(100));
        assertFalse(closing.acquire(50));
        assertFalse(next.acquire(50));
        budget.release(50); // granted to the first waiter, whose connection then closes
        budget.cancel(closing);
        closing.runTasks();
        next.runTasks();
        assertEquals(List.of("closing resumed with 0", "next resumed with 50"), log);
        assertEquals(100, budget.usedBytes());
        assertEquals(0, budget.waitingConnections());
    }

    @Test
    void aWaiterCancelledWhileQueuedLeavesTheQueue() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter holder = new QueuedWaiter(budget, "holder", log);
        QueuedWaiter waiter = new QueuedWaiter(budget, "waiter", log);
        assertTrue(holder.acquire(100));
        assertFalse(waiter.acquire(50));
        budget.cancel(waiter);
        assertEquals(0, budget.waitingConnections());
        budget.release(100);
        assertEquals(0, budget.usedBytes());
        assertTrue(waiter.tasks.isEmpty());
    }

    @Test
    void aGrantToAnExecutorThatRefusesWorkGoesBackToThePool() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter holder = new QueuedWaiter(budget, "holder", log);
        RecordMemoryBudget.Waiter stopped = new RecordMemoryBudget.Waiter() {
            @Override
            Executor executor() {
                return task -> {
                    throw new RejectedExecutionException("event loop shut down (test)");
                };
            }

            @Override
            public void run() {
                throw new AssertionError("never runs");
            }
        };
        assertTrue(holder.acquire(100));
        assertFalse(budget.acquireOrWait(stopped, 50));
        budget.release(100);
        assertEquals(0, budget.usedBytes());
        assertEquals(0, budget.waitingConnections());
    }

    @Test
    void aForcedAcquireMayGoBeyondTheCapacityAndThePoolLendsOnlyWhatIsLeft() {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 100, 1);
        QueuedWaiter waiter = new QueuedWaiter(budget, "waiter", log);
        budget.forceAcquire(150);
        assertEquals(150, budget.usedBytes());
        assertFalse(waiter.acquire(10));
        budget.release(100);
        waiter.runTasks();
        assertEquals(List.of("waiter resumed with 10"), log);
        assertEquals(60, budget.usedBytes());
    }

    @Test
    void refusesANegativeCapacityAndAFloorOfNoRecords() {
        assertThrows(IllegalArgumentException.class, () -> new RecordMemoryBudget(-1));
        assertThrows(IllegalArgumentException.class, () -> new RecordMemoryBudget("test", 100, 0));
    }

    @Test
    void theJvmDefaultIsAQuarterOfTheDirectMemoryLimitAndWhatAConfigurationUsesUnlessToldOtherwise() {
        RecordMemoryBudget budget = RecordMemoryBudget.jvmDefault();
        assertEquals(io.netty.util.internal.PlatformDependent.maxDirectMemory() / 4, budget.capacityBytes());
        assertEquals(RecordMemoryBudget.DEFAULT_GUARANTEED_RECORDS_PER_CONNECTION,
                budget.guaranteedRecordsPerConnection());
        assertTrue(KtlsConfig.defaults().recordMemoryBudget() == budget);
        RecordMemoryBudget own = new RecordMemoryBudget(1 << 20);
        assertTrue(KtlsConfig.builder().recordMemoryBudget(own).build().recordMemoryBudget() == own);
    }
}
