package io.ktls.handler;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultPromise;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.internal.ObjectUtil;
import io.netty.util.internal.PlatformDependent;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Worker threads that seal TLS records off the event loop, shared by many channels: the user-space twin
 * of FreeBSD's KTLS worker threads. Create one per server (like an {@code EventLoopGroup}), hand it to
 * {@code KtlsConfig.builder().offloadGroup(group)}, and shut it down after the event loops.
 *
 * <h2>Design</h2>
 * <pre>
 *   event loop A ─┐ execute(task)                    ┌─&gt; worker 0: MPSC queue ─&gt; run ─&gt; park
 *   event loop B ─┼─&gt; workerFor(channel): mix(channel.id().hashCode()) mod workers
 *   event loop C ─┘                                  └─&gt; worker 1: MPSC queue ─&gt; run ─&gt; park
 * </pre>
 * <ol>
 *   <li><b>Pinning.</b> A channel always maps to the same worker ({@link #workerFor}), as {@code ktls_get_cpu}
 *       maps a connection to one CPU once: tasks of one channel run one at a time and in submission order,
 *       so per-connection state (a {@code RecordCipher}) needs no lock, only the queue's happens-before.</li>
 *   <li><b>Hand-off.</b> Each worker owns one multi-producer single-consumer queue. A producer offers the
 *       task, then wakes the worker only if it announced that it is about to park (a Dekker pair: the worker
 *       stores {@code parked} then re-reads the queue; the producer stores into the queue then reads
 *       {@code parked}; with volatile accesses at least one of them sees the other).</li>
 *   <li><b>Hand-back.</b> A sealing task does not call {@code eventLoop.execute} itself: it gives the worker a
 *       hand-back ({@link Worker#handBackWhenIdle}), which the worker runs once its queue has run dry (or
 *       {@link #MAX_DEFERRED_HAND_BACKS} are held). Results of a burst then reach a sleeping event loop
 *       together, one wake-up for all of them (Netty's {@code execute} writes the loop's eventfd only while it
 *       is asleep). Hand-backs are the worker thread's own list: no ordering to argue, and the worker runs them
 *       all before it parks.</li>
 *   <li><b>Failure.</b> A task that throws is logged and counted; the worker goes on with the next task. Tasks
 *       are expected to catch their own errors and route them to their channel (and release what they hold).</li>
 *   <li><b>Shutdown.</b> {@link #shutdownGracefully()} flips the group to shutting down: from then on every
 *       {@code execute} throws {@link RejectedExecutionException}; each worker runs everything queued before,
 *       then ends. A producer racing with the flip is counted in {@code submitting} while it checks the
 *       state and offers: a worker ends only when it sees the flip, no producer in flight and an empty queue,
 *       so a task is either rejected or run, never dropped.</li>
 * </ol>
 *
 * <h2>Threads</h2>
 * Fields of a {@code Worker} are grouped by writer: {@code queue} and {@code submitting} are written by any
 * producer; {@code handBacks} only by the worker thread (its own tasks add, its loop runs them: no ordering
 * needed); {@code executed}, {@code failed}, {@code busyNanos} and {@code busy} only by the worker thread
 * (release stores, read by metric readers); {@code state} of the group by whoever shuts it down (CAS).
 * Completions must go back to the channel's event loop with {@code channel.eventLoop().execute(...)}, never
 * inline from a worker.
 */
public final class KtlsOffloadGroup implements AutoCloseable {

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(KtlsOffloadGroup.class);

    private static final int RUNNING = 0;
    private static final int SHUTTING_DOWN = 1;

    /**
     * Hand-backs a worker holds at most before running them although its queue has not run dry: under many
     * connections the queue may never empty, and a connection then waits for at most this many other tasks
     * (a batch of records each) before its own completion leaves.
     */
    static final int MAX_DEFERRED_HAND_BACKS = 8;
    private static final AtomicInteger nextGroupId = new AtomicInteger();
    private static final AtomicInteger nextThreadId = new AtomicInteger();
    /** Groups not terminated yet, for {@code KtlsMetric} and JMX; changes only when a group starts or ends. */
    private static final List<KtlsOffloadGroupMetric> liveGroups = new CopyOnWriteArrayList<>();

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(KtlsOffloadGroup.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Worker[] workers;
    private final Metric metric;
    /** Workers still running; the one that brings it to 0 completes {@link #terminationFuture}. */
    private final AtomicInteger liveWorkers;
    private final Promise<Void> terminationFuture = new DefaultPromise<>(GlobalEventExecutor.INSTANCE);
    /** {@link #RUNNING} until {@link #shutdownGracefully()}; read by every {@code execute}. */
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state = RUNNING;

    /** One worker per available processor, the right size when sealing is CPU-bound (FreeBSD does the same). */
    public KtlsOffloadGroup() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** {@code workers} daemon threads named {@code ktls-offload-N}. */
    public KtlsOffloadGroup(int workers) {
        this(workers, KtlsOffloadGroup::newDaemonThread);
    }

    /**
     * {@code workers} threads made by {@code threadFactory}, started now. The factory decides names, daemon
     * status and priority. Workers allocate a record's output run for every record they seal: make them
     * {@link FastThreadLocalThread}s (as Netty's {@code DefaultThreadFactory} does), or allocators that cache only
     * for such threads serve them from the shared arenas.
     */
    public KtlsOffloadGroup(int workers, ThreadFactory threadFactory) {
        ObjectUtil.checkPositive(workers, "workers");
        ObjectUtil.checkNotNull(threadFactory, "threadFactory");
        this.name = "ktls-offload-group-" + nextGroupId.getAndIncrement();
        this.workers = new Worker[workers];
        this.liveWorkers = new AtomicInteger(workers);
        for (int i = 0; i < workers; i++) {
            this.workers[i] = new Worker(i, threadFactory);
        }
        this.metric = new Metric();
        liveGroups.add(metric);
        int started = 0;
        try {
            for (; started < workers; started++) {
                this.workers[started].thread.start();
            }
        } catch (Throwable t) {
            // No thread left behind: the started workers end once their (empty) queues are drained, and the
            // workers that never started count as ended, so the group terminates and leaves the metrics.
            shutdownGracefully();
            for (int i = started; i < workers; i++) {
                workerEnded();
            }
            throw t;
        }
    }

    /**
     * A {@link FastThreadLocalThread}: allocators that keep per-thread caches only for event loops and such threads
     * ({@code PageRunAllocator}, Netty's pooled allocator) give a worker its own cache, as it allocates a record's
     * output run for every record it seals.
     */
    private static Thread newDaemonThread(Runnable task) {
        Thread thread = new FastThreadLocalThread(task, "ktls-offload-" + nextThreadId.getAndIncrement());
        thread.setDaemon(true);
        return thread;
    }

    /** Metrics of every group of this JVM that has not terminated yet, oldest first. */
    static List<KtlsOffloadGroupMetric> liveGroups() {
        return Collections.unmodifiableList(liveGroups);
    }

    /** Number of worker threads. */
    public int workers() {
        return workers.length;
    }

    /**
     * The worker that runs every offloaded task of {@code channel}: always the same one for the same channel,
     * and channels spread evenly over the workers (following their event loops where the counts allow). Ask
     * once the channel is registered: its event loop may decide the worker. The returned executor throws
     * {@link RejectedExecutionException} once the group is shutting down.
     */
    public Executor workerFor(Channel channel) {
        return pinnedWorker(channel);
    }

    /**
     * {@link #workerFor}, typed for {@link Worker#handBackWhenIdle}.
     *
     * <p>Workers follow event loops where the counts allow: with as many event loops as workers (the default of
     * both: one per core), or a multiple, every channel of a loop is pinned to the same worker, so the workers
     * share the load as the loops do (Netty deals channels to its loops in turn), where hashing channel ids
     * often gave one worker most of a handful of busy connections. With a multiple of the loops' count in workers,
     * a loop's channels spread over its share of them. Otherwise (and for a loop outside a group, such as an
     * {@code EmbeddedChannel}'s) channels spread over all workers by the hash of their id.
     */
    Worker pinnedWorker(Channel channel) {
        ObjectUtil.checkNotNull(channel, "channel");
        int n = workers.length;
        int hash = channel.id().hashCode();
        EventLoop loop = channel.isRegistered() ? channel.eventLoop() : null;
        EventLoopGroup group = loop != null ? loop.parent() : null;
        if (group != null) {
            int loopIndex = -1;
            int loops = 0;
            for (EventExecutor executor : group) {
                if (executor == loop) {
                    loopIndex = loops;
                }
                loops++;
            }
            if (loopIndex >= 0) {
                if (loops % n == 0) {
                    return workers[loopIndex % n];
                }
                if (n % loops == 0) {
                    return workers[loopIndex + loops * indexFor(hash, n / loops)];
                }
            }
        }
        return workers[indexFor(hash, n)];
    }

    /**
     * Maps a stable hash to a worker index. Channel ids hash randomly already; the mix (Murmur3's finalizer)
     * guards against ids whose hashes share low bits, and the multiply-shift avoids a division.
     */
    static int indexFor(int hash, int workers) {
        int h = hash;
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return (int) (((h & 0xffffffffL) * workers) >>> 32);
    }

    /**
     * Stops accepting tasks, lets every worker run what is already queued, then ends the threads. Safe to
     * call many times and from any thread, a worker included; every call returns the same future, which
     * completes once the last worker has ended.
     */
    public Future<?> shutdownGracefully() {
        if (STATE.compareAndSet(this, RUNNING, SHUTTING_DOWN)) {
            for (Worker worker : workers) {
                LockSupport.unpark(worker.thread);
            }
        }
        return terminationFuture;
    }

    /** True once {@link #shutdownGracefully()} was called. */
    public boolean isShuttingDown() {
        return (int) STATE.getVolatile(this) != RUNNING;
    }

    /** True once every worker has ended. */
    public boolean isTerminated() {
        return terminationFuture.isDone();
    }

    /** The future {@link #shutdownGracefully()} returns. */
    public Future<?> terminationFuture() {
        return terminationFuture;
    }

    /**
     * Shuts the group down and waits until every queued task has run and every worker has ended.
     *
     * @throws IllegalStateException when called from one of this group's workers (it would wait for itself)
     */
    @Override
    public void close() {
        for (Worker worker : workers) {
            if (Thread.currentThread() == worker.thread) {
                throw new IllegalStateException("close() called from worker " + worker.thread.getName()
                        + " (expected: another thread; use shutdownGracefully() from a worker)");
            }
        }
        shutdownGracefully().syncUninterruptibly();
    }

    /** Read-only counters of this group, also exported through {@code KtlsMetric} and JMX. */
    public KtlsOffloadGroupMetric metric() {
        return metric;
    }

    @Override
    public String toString() {
        return name + "(workers: " + workers.length + (isShuttingDown() ? ", shutting down)" : ")");
    }

    /** Once per worker, at its end; the last one terminates the group, even if a late error interrupts it. */
    private void workerEnded() {
        if (liveWorkers.decrementAndGet() != 0) {
            return;
        }
        for (;;) {
            try {
                liveGroups.remove(metric);
                terminationFuture.trySuccess(null);
                return;
            } catch (Throwable t) {
                // See Worker.run: an error the JVM delivers late can land here too; both steps are idempotent.
                logger.warn("{} caught an error while terminating; retrying", name, t);
            }
        }
    }

    /**
     * One worker thread and its queue. {@code execute} may be called from any thread; {@code run} is the
     * worker thread's loop and the only consumer of {@code queue}; {@code handBackWhenIdle} is called by the
     * worker's own tasks.
     */
    final class Worker implements Executor {

        private static final VarHandle PARKED;
        private static final VarHandle SUBMITTING;
        private static final VarHandle EXECUTED;
        private static final VarHandle FAILED;
        private static final VarHandle BUSY_NANOS;
        private static final VarHandle BUSY;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                PARKED = lookup.findVarHandle(Worker.class, "parked", int.class);
                SUBMITTING = lookup.findVarHandle(Worker.class, "submitting", int.class);
                EXECUTED = lookup.findVarHandle(Worker.class, "executed", long.class);
                FAILED = lookup.findVarHandle(Worker.class, "failed", long.class);
                BUSY_NANOS = lookup.findVarHandle(Worker.class, "busyNanos", long.class);
                BUSY = lookup.findVarHandle(Worker.class, "busy", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final int index;
        /** Final, so that producers on any thread see it however the group was published. */
        private final Thread thread;

        // Written by producers.
        /** Netty's JCTools-derived unbounded MPSC queue: one CAS per offer, O(1) size for the metric. */
        private final Queue<Runnable> queue = PlatformDependent.newMpscQueue();
        /** Producers between their state check and their offer; the worker may end only when it is 0. */
        private volatile int submitting;

        // Written by the worker thread (release), cleared by the producer that wakes it (CAS).
        /** 1 while the worker is parked or about to park; the producer that CASes it to 0 unparks it. */
        private volatile int parked;

        // Worker thread only.
        /** Hand-backs of the tasks run since the queue last ran dry; see {@link #handBackWhenIdle}. */
        private final ArrayList<Runnable> handBacks = new ArrayList<>();

        // Written only by the worker thread, with release stores; read by metrics.
        private long executed;
        private long failed;
        private long busyNanos;
        private boolean busy;

        Worker(int index, ThreadFactory threadFactory) {
            this.index = index;
            // The thread runs this worker's loop, but only once started, after the group is fully built.
            this.thread = threadFactory.newThread(this::run);
            if (thread == null) {
                throw new IllegalStateException("threadFactory returned null (expected: a new thread)");
            }
        }

        @Override
        public void execute(Runnable task) {
            ObjectUtil.checkNotNull(task, "task");
            SUBMITTING.getAndAdd(this, 1);
            try {
                if (isShuttingDown()) {
                    throw new RejectedExecutionException(name + " is shutting down");
                }
                queue.offer(task);
            } finally {
                SUBMITTING.getAndAdd(this, -1);
            }
            if ((int) PARKED.getVolatile(this) == 1 && PARKED.compareAndSet(this, 1, 0)) {
                LockSupport.unpark(thread);
            }
        }

        void run() {
            for (;;) {
                try {
                    loop();
                    break;
                } catch (Throwable t) {
                    // Raised between tasks, not by one: before JDK 22 the JVM reports a fault in a copy from a
                    // truncated mapped file late, anywhere on this thread. Ending the worker would strand every
                    // connection pinned to it, so it carries on.
                    logger.warn("{} caught an error outside any task; the worker carries on", thread.getName(), t);
                }
            }
            workerEnded();
        }

        private void loop() {
            assert Thread.currentThread() == thread : Thread.currentThread() + " is not " + thread;
            for (;;) {
                BUSY.setRelease(this, true);
                long busyStartNanos = System.nanoTime();
                drain();
                BUSY_NANOS.setRelease(this, busyNanos + (System.nanoTime() - busyStartNanos));
                BUSY.setRelease(this, false);

                if (isShuttingDown()) {
                    // Every producer that saw RUNNING incremented submitting before reading the state, so once
                    // we see the flip and submitting == 0, no task can still arrive: drain once more and end.
                    if ((int) SUBMITTING.getVolatile(this) == 0) {
                        if (queue.isEmpty()) {
                            return;
                        }
                        continue;
                    }
                    Thread.onSpinWait();
                    continue;
                }
                PARKED.setVolatile(this, 1);
                if (!queue.isEmpty() || isShuttingDown()) {
                    PARKED.setVolatile(this, 0);
                    continue;
                }
                LockSupport.park(this);
                // A producer, shutdownGracefully() or a spurious wake-up: clear the flag either way.
                PARKED.setVolatile(this, 0);
                if (Thread.interrupted()) {
                    // Interrupts carry no meaning here; clearing one keeps park() from returning at once forever.
                    logger.debug("{} interrupted; ignored", thread.getName());
                }
            }
        }

        private void drain() {
            Runnable task;
            while ((task = queue.poll()) != null) {
                try {
                    task.run();
                } catch (Throwable t) {
                    FAILED.setRelease(this, failed + 1);
                    logger.warn("A task raised an exception on {}; the worker carries on. Task: {}",
                            thread.getName(), task, t);
                }
                EXECUTED.setRelease(this, executed + 1);
                if (!handBacks.isEmpty() && (queue.isEmpty() || handBacks.size() >= MAX_DEFERRED_HAND_BACKS)) {
                    runHandBacks();
                }
            }
            // The last task found the queue empty and ran the hand-backs: none waits while the worker parks.
            assert handBacks.isEmpty() : handBacks.size() + " hand-backs left on " + thread.getName();
        }

        /**
         * Runs {@code handBack} (on this worker) once the queue has run dry, or once
         * {@link #MAX_DEFERRED_HAND_BACKS} are held: a task hands its result back to an event loop this way, so
         * that the results of a burst of tasks leave together and an event loop asleep is woken once for them,
         * not once for each. Called only by a task running on this worker; {@code handBack} does its own
         * {@code execute} and handles a rejection.
         */
        void handBackWhenIdle(Runnable handBack) {
            assert Thread.currentThread() == thread : Thread.currentThread() + " is not " + thread;
            handBacks.add(handBack);
        }

        private void runHandBacks() {
            for (int i = 0; i < handBacks.size(); i++) {
                Runnable handBack = handBacks.get(i);
                try {
                    handBack.run();
                } catch (Throwable t) {
                    logger.warn("A hand-back raised an exception on {}; the worker carries on. Hand-back: {}",
                            thread.getName(), handBack, t);
                }
            }
            handBacks.clear();
        }

        long queuedTasks() {
            return queue.size();
        }

        long executedTasks() {
            return (long) EXECUTED.getAcquire(this);
        }

        long failedTasks() {
            return (long) FAILED.getAcquire(this);
        }

        long busyNanos() {
            return (long) BUSY_NANOS.getAcquire(this);
        }

        boolean isBusy() {
            return (boolean) BUSY.getAcquire(this);
        }

        @Override
        public String toString() {
            return thread.getName();
        }
    }

    /** Live view over the workers' counters; allocates only the worker list, once. */
    private final class Metric implements KtlsOffloadGroupMetric {

        private final List<KtlsOffloadWorkerMetric> workerMetrics;

        Metric() {
            List<KtlsOffloadWorkerMetric> list = new ArrayList<>(workers.length);
            for (Worker worker : workers) {
                list.add(new WorkerMetric(worker));
            }
            workerMetrics = Collections.unmodifiableList(list);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int workers() {
            return workers.length;
        }

        @Override
        public List<KtlsOffloadWorkerMetric> workerMetrics() {
            return workerMetrics;
        }

        @Override
        public long queuedTasks() {
            long sum = 0;
            for (Worker worker : workers) {
                sum += worker.queuedTasks();
            }
            return sum;
        }

        @Override
        public long executedTasks() {
            long sum = 0;
            for (Worker worker : workers) {
                sum += worker.executedTasks();
            }
            return sum;
        }

        @Override
        public long failedTasks() {
            long sum = 0;
            for (Worker worker : workers) {
                sum += worker.failedTasks();
            }
            return sum;
        }

        @Override
        public boolean isShuttingDown() {
            return KtlsOffloadGroup.this.isShuttingDown();
        }

        @Override
        public boolean isTerminated() {
            return KtlsOffloadGroup.this.isTerminated();
        }

        @Override
        public String toString() {
            return name + "(workers: " + workers.length + ", queued: " + queuedTasks() + ", executed: "
                    + executedTasks() + ", failed: " + failedTasks() + ')';
        }
    }

    private static final class WorkerMetric implements KtlsOffloadWorkerMetric {
        private final Worker worker;

        WorkerMetric(Worker worker) {
            this.worker = worker;
        }

        @Override
        public int index() {
            return worker.index;
        }

        @Override
        public long queuedTasks() {
            return worker.queuedTasks();
        }

        @Override
        public long executedTasks() {
            return worker.executedTasks();
        }

        @Override
        public long failedTasks() {
            return worker.failedTasks();
        }

        @Override
        public long busyNanos() {
            return worker.busyNanos();
        }

        @Override
        public boolean isBusy() {
            return worker.isBusy();
        }
    }
}
