package io.ktls.handler;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.local.LocalIoHandler;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker's deferred hand-backs are never stranded, and a worker is never left parked with work queued: many
 * connections play ping-pong between their event loop and their pinned worker (a burst of tasks out, one hand-back
 * per task back, the next burst only once the last hand-back arrived), so workers park and wake thousands of times
 * while producers race with them. One lost wake-up or one hand-back kept past the worker's park stalls a chain, and
 * the test fails on its deadline with the chains still short.
 */
@Tag("stress")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OffloadHandBackStressTest {

    private static final int CONNECTIONS = 24;
    private static final int ROUNDS = 2_000;

    @Test
    void everyHandBackReachesItsEventLoopWhileWorkersParkAndWake() throws Exception {
        MultiThreadIoEventLoopGroup loops = new MultiThreadIoEventLoopGroup(3, LocalIoHandler.newFactory());
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(2)) {
            CountDownLatch finished = new CountDownLatch(CONNECTIONS);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<PingPong> chains = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                Channel channel = new EmbeddedChannel();
                PingPong chain = new PingPong(group.pinnedWorker(channel), loops.next(), finished, failure);
                channel.close();
                chains.add(chain);
                chain.eventLoop.execute(chain::nextBurst);
            }
            boolean done = finished.await(90, TimeUnit.SECONDS);
            assertNull(failure.get(), "a hand-back failed");
            StringBuilder rounds = new StringBuilder();
            for (PingPong chain : chains) {
                rounds.append(chain.round).append(' ');
            }
            assertTrue(done, "chains stalled (a lost wake-up or a stranded hand-back), rounds: " + rounds);
            for (PingPong chain : chains) {
                assertEquals(ROUNDS, chain.round);
            }
            assertEquals(0, group.metric().failedTasks());
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** One connection's chain; {@code round} and {@code outstanding} belong to its event loop. */
    private static final class PingPong {
        final KtlsOffloadGroup.Worker worker;
        final EventLoop eventLoop;
        final CountDownLatch finished;
        final AtomicReference<Throwable> failure;
        int round;
        int outstanding;

        PingPong(KtlsOffloadGroup.Worker worker, EventLoop eventLoop, CountDownLatch finished,
                 AtomicReference<Throwable> failure) {
            this.worker = worker;
            this.eventLoop = eventLoop;
            this.finished = finished;
            this.failure = failure;
        }

        void nextBurst() {
            assertTrue(eventLoop.inEventLoop());
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int tasks = 1 + random.nextInt(4);
            outstanding = tasks;
            for (int i = 0; i < tasks; i++) {
                // Some tasks take a few microseconds, so that hand-backs of several connections pile up and
                // producers meet the worker at every point of its loop (running, about to park, parked).
                long busyNanos = random.nextInt(4) == 0 ? random.nextInt(20_000) : 0;
                worker.execute(() -> {
                    long start = System.nanoTime();
                    while (System.nanoTime() - start < busyNanos) {
                        Thread.onSpinWait();
                    }
                    worker.handBackWhenIdle(() -> {
                        if (!Thread.currentThread().getName().startsWith("ktls-offload-")) {
                            failure.compareAndSet(null, new AssertionError("hand-back ran on "
                                    + Thread.currentThread().getName()));
                        }
                        eventLoop.execute(this::handedBack);
                    });
                });
            }
        }

        void handedBack() {
            if (--outstanding > 0) {
                return;
            }
            if (++round == ROUNDS) {
                finished.countDown();
                return;
            }
            nextBurst();
        }
    }
}
