package io.ktls.handler.offload;

import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsOffloadGroupMetric;
import io.ktls.handler.KtlsOffloadWorkerMetric;
import io.netty.channel.Channel;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KtlsOffloadGroupTest {

    private static List<Channel> channels(int count) {
        List<Channel> channels = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            channels.add(new EmbeddedChannel(DefaultChannelId.newInstance()));
        }
        return channels;
    }

    private static void closeAll(List<Channel> channels) {
        for (Channel channel : channels) {
            channel.close().syncUninterruptibly();
        }
    }

    @Test
    void sameChannelAlwaysGetsTheSameWorker() throws Exception {
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(4)) {
            List<Channel> channels = channels(64);
            try {
                for (Channel channel : channels) {
                    Executor first = group.workerFor(channel);
                    for (int i = 0; i < 10; i++) {
                        assertSame(first, group.workerFor(channel));
                    }
                    // The same executor means the same thread: every task of the channel runs there.
                    Set<Thread> threads = ConcurrentHashMap.newKeySet();
                    CountDownLatch done = new CountDownLatch(20);
                    for (int i = 0; i < 20; i++) {
                        group.workerFor(channel).execute(() -> {
                            threads.add(Thread.currentThread());
                            done.countDown();
                        });
                    }
                    assertTrue(done.await(5, TimeUnit.SECONDS));
                    assertEquals(1, threads.size(), "threads that ran one channel's tasks: " + threads);
                }
            } finally {
                closeAll(channels);
            }
        }
    }

    @Test
    void channelsOfOneEventLoopShareAWorkerWhenLoopsAreAMultipleOfWorkers() {
        // Netty's default: twice as many loops as cores; each worker then serves two loops, all of their channels.
        Map<EventLoop, Set<Executor>> workersByLoop = pinChannelsOfLoops(4, 2, 64);
        assertEquals(4, workersByLoop.size());
        Set<Executor> used = new HashSet<>();
        for (Set<Executor> workers : workersByLoop.values()) {
            assertEquals(1, workers.size(), "one loop's channels went to several workers: " + workersByLoop);
            used.addAll(workers);
        }
        assertEquals(2, used.size(), "both workers serve loops: " + workersByLoop);
    }

    @Test
    void aLoopsChannelsSpreadOverItsShareOfWorkersWhenWorkersAreAMultipleOfLoops() {
        Map<EventLoop, Set<Executor>> workersByLoop = pinChannelsOfLoops(2, 4, 64);
        Set<Executor> used = new HashSet<>();
        for (Set<Executor> workers : workersByLoop.values()) {
            assertEquals(2, workers.size(), "a loop's share is two workers: " + workersByLoop);
            used.addAll(workers);
        }
        assertEquals(4, used.size(), "the loops' shares do not overlap and cover every worker");
    }

    /** Registers {@code channels} local channels on a group of {@code loops}; which workers each loop's got. */
    private static Map<EventLoop, Set<Executor>> pinChannelsOfLoops(int loops, int workers, int channels) {
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(loops, LocalIoHandler.newFactory());
        Map<EventLoop, Set<Executor>> workersByLoop = new HashMap<>();
        try (KtlsOffloadGroup offload = new KtlsOffloadGroup(workers)) {
            for (int i = 0; i < channels; i++) {
                Channel channel = new LocalChannel();
                group.register(channel).syncUninterruptibly();
                Executor worker = offload.workerFor(channel);
                assertSame(worker, offload.workerFor(channel));
                workersByLoop.computeIfAbsent(channel.eventLoop(), l -> new HashSet<>()).add(worker);
                channel.close().syncUninterruptibly();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        return workersByLoop;
    }

    @Test
    void channelsSpreadEvenlyOverWorkers() {
        int workers = 4;
        int channelCount = 4000;
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(workers)) {
            List<Channel> channels = channels(channelCount);
            try {
                Map<Executor, Integer> perWorker = new HashMap<>();
                for (Channel channel : channels) {
                    perWorker.merge(group.workerFor(channel), 1, Integer::sum);
                }
                assertEquals(workers, perWorker.size(), "workers used: " + perWorker.values());
                int mean = channelCount / workers;
                for (int count : perWorker.values()) {
                    // 1000 +- 20% is about 7 standard deviations of a fair binomial split.
                    assertTrue(count > mean * 0.8 && count < mean * 1.2, "channels per worker: " + perWorker.values());
                }
            } finally {
                closeAll(channels);
            }
        }
    }

    @Test
    void tasksOfOneProducerRunInSubmissionOrder() throws Exception {
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(2)) {
            EmbeddedChannel channel = new EmbeddedChannel(DefaultChannelId.newInstance());
            Executor worker = group.workerFor(channel);
            List<Integer> seen = new ArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            for (int i = 0; i < 10_000; i++) {
                int n = i;
                worker.execute(() -> seen.add(n)); // only the worker thread touches seen
            }
            worker.execute(done::countDown);
            assertTrue(done.await(10, TimeUnit.SECONDS));
            for (int i = 0; i < seen.size(); i++) {
                assertEquals(i, seen.get(i));
            }
            assertEquals(10_000, seen.size());
            channel.close();
        }
    }

    @Test
    void workersAreDaemonThreadsNamedKtlsOffload() throws Exception {
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(3)) {
            assertEquals(3, group.workers());
            List<Channel> channels = channels(64);
            Set<Thread> threads = ConcurrentHashMap.newKeySet();
            CountDownLatch done = new CountDownLatch(channels.size());
            for (Channel channel : channels) {
                group.workerFor(channel).execute(() -> {
                    threads.add(Thread.currentThread());
                    done.countDown();
                });
            }
            assertTrue(done.await(5, TimeUnit.SECONDS));
            closeAll(channels);
            assertEquals(3, threads.size());
            for (Thread thread : threads) {
                assertTrue(thread.isDaemon(), thread + " is not a daemon");
                assertTrue(thread.getName().matches("ktls-offload-\\d+"), thread.getName());
            }
        }
    }

    @Test
    void defaultGroupHasOneWorkerPerCore() {
        try (KtlsOffloadGroup group = new KtlsOffloadGroup()) {
            assertEquals(Runtime.getRuntime().availableProcessors(), group.workers());
        }
    }

    @Test
    void misuseIsRefusedWithAClearMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KtlsOffloadGroup(0));
        assertTrue(e.getMessage().contains("workers"), e.getMessage());
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(1)) {
            assertThrows(NullPointerException.class, () -> group.workerFor(null));
        }
    }

    @Test
    void shutdownRunsEveryQueuedTaskThenRejects() throws Exception {
        KtlsOffloadGroup group = new KtlsOffloadGroup(1);
        EmbeddedChannel channel = new EmbeddedChannel(DefaultChannelId.newInstance());
        Executor worker = group.workerFor(channel);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        AtomicReference<Thread> workerThread = new AtomicReference<>();
        worker.execute(() -> {
            workerThread.set(Thread.currentThread());
            blocked.countDown();
            Uninterruptibly.await(release);
        });
        assertTrue(blocked.await(5, TimeUnit.SECONDS));
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 1000; i++) {
            worker.execute(ran::incrementAndGet);
        }
        assertEquals(1000, group.metric().queuedTasks());

        Future<?> terminated = group.shutdownGracefully();
        assertTrue(group.isShuttingDown());
        assertThrows(RejectedExecutionException.class, () -> worker.execute(ran::incrementAndGet));
        assertFalse(terminated.isDone(), "terminated while a task still runs");

        release.countDown();
        assertTrue(terminated.await(5, TimeUnit.SECONDS));
        assertEquals(1000, ran.get());
        assertEquals(1001, group.metric().executedTasks());
        assertEquals(0, group.metric().queuedTasks());
        assertTrue(group.isTerminated());
        workerThread.get().join(5000);
        assertFalse(workerThread.get().isAlive());
        assertThrows(RejectedExecutionException.class, () -> worker.execute(ran::incrementAndGet));
        channel.close();
    }

    @Test
    void shutdownGracefullyIsIdempotent() throws Exception {
        KtlsOffloadGroup group = new KtlsOffloadGroup(2);
        Future<?> first = group.shutdownGracefully();
        Future<?> second = group.shutdownGracefully();
        assertSame(first, second);
        assertTrue(first.await(5, TimeUnit.SECONDS));
        assertSame(first, group.shutdownGracefully());
        group.close(); // after termination: returns at once
        group.close();
        assertTrue(group.isTerminated());
    }

    @Test
    void shutdownFromAWorkerTaskCompletes() throws Exception {
        KtlsOffloadGroup group = new KtlsOffloadGroup(2);
        EmbeddedChannel channel = new EmbeddedChannel(DefaultChannelId.newInstance());
        AtomicReference<Throwable> closeFromWorker = new AtomicReference<>();
        group.workerFor(channel).execute(() -> {
            try {
                group.close();
            } catch (Throwable t) {
                closeFromWorker.set(t);
            }
            group.shutdownGracefully();
        });
        assertTrue(group.terminationFuture().await(5, TimeUnit.SECONDS));
        assertTrue(closeFromWorker.get() instanceof IllegalStateException, String.valueOf(closeFromWorker.get()));
        channel.close();
    }

    @Test
    void failingTaskDoesNotKillTheWorker() throws Exception {
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(1)) {
            EmbeddedChannel channel = new EmbeddedChannel(DefaultChannelId.newInstance());
            Executor worker = group.workerFor(channel);
            AtomicReference<Thread> before = new AtomicReference<>();
            AtomicReference<Thread> after = new AtomicReference<>();
            AtomicInteger carriedOn = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(1);
            worker.execute(() -> before.set(Thread.currentThread()));
            worker.execute(() -> {
                throw new IllegalStateException("injected failure (expected by the test)");
            });
            worker.execute(() -> {
                throw new AssertionError("injected error (expected by the test)");
            });
            for (int i = 0; i < 100; i++) {
                worker.execute(carriedOn::incrementAndGet);
            }
            worker.execute(() -> {
                after.set(Thread.currentThread());
                done.countDown();
            });
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals(100, carriedOn.get());
            assertSame(before.get(), after.get());
            // The worker counts a task after it returns: let it finish before reading the counters.
            assertTrue(group.shutdownGracefully().await(5, TimeUnit.SECONDS));
            KtlsOffloadWorkerMetric workerMetric = group.metric().workerMetrics().get(0);
            assertEquals(2, workerMetric.failedTasks());
            assertEquals(2, group.metric().failedTasks());
            assertEquals(104, workerMetric.executedTasks());
            channel.close();
        }
    }

    @Test
    void everyTaskIsEitherRunOrRejectedWhenShutdownRacesWithProducers() throws Exception {
        for (int round = 0; round < 20; round++) {
            KtlsOffloadGroup group = new KtlsOffloadGroup(2);
            List<Channel> channels = channels(8);
            int producers = 4;
            AtomicLong ran = new AtomicLong();
            AtomicLong accepted = new AtomicLong();
            CyclicBarrier start = new CyclicBarrier(producers + 1);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                Executor worker = group.workerFor(channels.get(p));
                Thread producer = new Thread(() -> {
                    awaitUninterruptibly(start);
                    try {
                        for (;;) {
                            worker.execute(ran::incrementAndGet);
                            accepted.incrementAndGet();
                        }
                    } catch (RejectedExecutionException expected) {
                        // the group is shutting down: stop producing
                    }
                });
                producer.start();
                threads.add(producer);
            }
            awaitUninterruptibly(start);
            // The race needs producers under way: on a loaded machine they may not have run at all within a
            // fixed sleep, and the round would prove nothing (and fail on accepted > 0).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (accepted.get() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            Thread.sleep(2);
            assertTrue(group.shutdownGracefully().await(10, TimeUnit.SECONDS));
            for (Thread thread : threads) {
                thread.join(5000);
                assertFalse(thread.isAlive());
            }
            assertTrue(accepted.get() > 0);
            assertEquals(accepted.get(), ran.get(), "accepted tasks that did not run (round " + round + ')');
            assertEquals(accepted.get(), group.metric().executedTasks());
            closeAll(channels);
        }
    }

    @Test
    void metricCountsAreExactUnderConcurrentProducers() throws Exception {
        int producers = 4;
        int tasksPerProducer = 25_000;
        KtlsOffloadGroup group = new KtlsOffloadGroup(2);
        List<Channel> channels = channels(16);
        CyclicBarrier start = new CyclicBarrier(producers);
        List<Thread> threads = new ArrayList<>();
        AtomicLong ran = new AtomicLong();
        for (int p = 0; p < producers; p++) {
            int first = p * 4;
            Thread producer = new Thread(() -> {
                awaitUninterruptibly(start);
                for (int i = 0; i < tasksPerProducer; i++) {
                    group.workerFor(channels.get(first + (i & 3))).execute(ran::incrementAndGet);
                }
            });
            producer.start();
            threads.add(producer);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertTrue(group.shutdownGracefully().await(10, TimeUnit.SECONDS));
        long expected = (long) producers * tasksPerProducer;
        KtlsOffloadGroupMetric metric = group.metric();
        assertEquals(expected, ran.get());
        assertEquals(expected, metric.executedTasks());
        long perWorkerSum = 0;
        for (KtlsOffloadWorkerMetric worker : metric.workerMetrics()) {
            perWorkerSum += worker.executedTasks();
            assertEquals(0, worker.queuedTasks());
            assertFalse(worker.isBusy());
            assertTrue(worker.busyNanos() > 0);
        }
        assertEquals(expected, perWorkerSum);
        assertEquals(0, metric.failedTasks());
        assertTrue(metric.isTerminated());
        closeAll(channels);
    }

    @Test
    void customThreadFactoryMakesTheWorkers() throws Exception {
        Set<String> names = new HashSet<>();
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(2, task -> {
            Thread thread = new Thread(task, "custom-" + names.size());
            thread.setDaemon(true);
            names.add(thread.getName());
            return thread;
        })) {
            EmbeddedChannel channel = new EmbeddedChannel(DefaultChannelId.newInstance());
            AtomicReference<String> ranOn = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            group.workerFor(channel).execute(() -> {
                ranOn.set(Thread.currentThread().getName());
                done.countDown();
            });
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertNotNull(ranOn.get());
            assertTrue(names.contains(ranOn.get()), ranOn.get() + " not in " + names);
            channel.close();
        }
    }

    @Test
    void threadStartFailureLeavesNoWorkerRunning() throws Exception {
        List<Thread> started = new ArrayList<>();
        int groupsBefore = KtlsMetric.global().offloadGroups().size();
        ThreadFactory thirdThreadCannotStart = task -> {
            if (started.size() == 2) {
                return new Thread(task) {
                    @Override
                    public synchronized void start() {
                        throw new IllegalStateException("injected: cannot start a thread");
                    }
                };
            }
            Thread thread = new Thread(task, "started-" + started.size());
            thread.setDaemon(true);
            started.add(thread);
            return thread;
        };
        IllegalStateException failure = assertThrows(IllegalStateException.class,
                () -> new KtlsOffloadGroup(3, thirdThreadCannotStart));
        assertTrue(failure.getMessage().startsWith("injected"), failure.getMessage());
        for (Thread thread : started) {
            thread.join(5000);
            assertFalse(thread.isAlive(), thread + " still runs");
        }
        assertEquals(groupsBefore, KtlsMetric.global().offloadGroups().size());
    }

    private static void awaitUninterruptibly(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
