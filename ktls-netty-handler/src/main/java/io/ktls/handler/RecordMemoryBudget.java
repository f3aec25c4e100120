package io.ktls.handler;

import io.netty.util.internal.PlatformDependent;

import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A server-wide budget of the memory held in outbound records, framed and not yet written to the socket, shared
 * fairly by every connection that uses it; as Linux's {@code page_pool} bounds the pages of one device, this bounds
 * the sealed records of one server, which {@link KtlsConfig.Builder#maxRecordsInFlight(int)} alone bounds only per
 * connection (10,000 connections x 32 records x 16 KiB would be 5 GiB). Make one per server and give it to every
 * handler through {@link KtlsConfig.Builder#recordMemoryBudget(RecordMemoryBudget)}; by default every handler
 * shares {@link #jvmDefault()}.
 *
 * <h2>Accounting</h2>
 * Bytes of record memory: a record is charged its size on the wire, header + payload + the largest AEAD
 * expansion ({@link #recordBytes(int)}), the size of the ciphertext buffer it becomes. A connection reserves a
 * full record's worth before framing (it cannot know the size before it takes the pieces), is charged the record's
 * own size when it is framed, and gives back what it did not use at the end of its framing pass; the charge is
 * given back, exactly once, when the record's socket write completes or the record is discarded (failed seal,
 * failed or closed connection). Counting bytes rather than records keeps small records (an HTTP response header, an
 * alert) from taking a whole 16 KiB slot each.
 *
 * <h2>Fairness</h2>
 * <ul>
 *   <li><b>Guarantee</b>: each connection may always hold {@link #guaranteedRecordsPerConnection()} records,
 *       whatever the pool holds (they count in {@link #usedBytes()}, so the pool lends less while they are held).
 *       So no connection starves and every connection makes progress: its own write completions free its
 *       guaranteed slots.</li>
 *   <li><b>Pool</b>: beyond the guarantee a record is framed only while {@link #usedBytes()} + the record fits in
 *       {@link #capacityBytes()}. A connection that does not fit stops framing and joins a FIFO queue of waiters;
 *       while anyone waits, newcomers queue behind them rather than take budget first, so one fast connection
 *       cannot take everything released.</li>
 *   <li><b>Hand-off</b>: a release serves the queue from its head while the head's reservation fits; the bytes are
 *       reserved for the waiter at once (no one can take them in between) and the waiter resumes on its own event
 *       loop, never inline on the releasing thread.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * Any thread may acquire and release (a record's write completes on its connection's event loop, which frees
 * budget another connection waits for). {@code used} is an atomic counter; the waiter queue, and each waiter's
 * {@code queued} and {@code grantedBytes}, are guarded by {@code lock}, a small lock taken only on the slow path
 * (the pool was short or someone waits). The one ordering that matters is Dekker's: a waiter publishes itself
 * ({@code waiting}, volatile) before it checks {@code used} once more under the lock, and a release lowers
 * {@code used} before it reads {@code waiting}; both are sequentially consistent, so either the waiter sees the
 * release's bytes or the release sees the waiter and serves it: a release right after a failed acquire cannot be
 * missed. Nobody spins: a waiter sleeps until a release (or its own write completions) wakes it.
 */
public final class RecordMemoryBudget implements RecordMemoryBudgetMetric {

    /**
     * The default floor per connection: one record being written to the socket while the next one is sealed, so
     * even a connection that gets nothing from the pool keeps its write and its sealing overlapped.
     */
    public static final int DEFAULT_GUARANTEED_RECORDS_PER_CONNECTION = 2;

    /** The largest expansion of a sealed record: TLS 1.2 AES-GCM's 8-byte explicit nonce and 16-byte tag. */
    static final int MAX_SEAL_EXPANSION = 24;

    private static final AtomicInteger NAMES = new AtomicInteger();
    /** Budgets not yet collected, for {@link KtlsMetric#recordMemoryBudgets()}. */
    private static final List<WeakReference<RecordMemoryBudget>> LIVE = new CopyOnWriteArrayList<>();
    private static volatile RecordMemoryBudget jvmDefault;

    private final String name;
    private final long capacityBytes;
    private final int guaranteedRecordsPerConnection;

    /** Bytes held now; any thread, by compare-and-set. */
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private final LongAdder waits = new LongAdder();

    private final Object lock = new Object();
    /** Connections waiting for budget, oldest first. Guarded by {@link #lock}. */
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** {@code waiters.size()}, written under {@link #lock}, read without it by releases (see Threads). */
    private volatile int waiting;

    /**
     * A budget of {@code capacityBytes} shared by the connections beyond their
     * {@value #DEFAULT_GUARANTEED_RECORDS_PER_CONNECTION} guaranteed records each.
     */
    public RecordMemoryBudget(long capacityBytes) {
        this("recordMemory-" + NAMES.incrementAndGet(), capacityBytes, DEFAULT_GUARANTEED_RECORDS_PER_CONNECTION);
    }

    /**
     * @param name for logs and metrics
     * @param capacityBytes bytes of records shared beyond the guaranteed records (0 or more; less than one
     *                      record leaves each connection its guaranteed records only)
     * @param guaranteedRecordsPerConnection records each connection may always hold (1 or more)
     */
    public RecordMemoryBudget(String name, long capacityBytes, int guaranteedRecordsPerConnection) {
        if (name == null) {
            throw new NullPointerException("name");
        }
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("capacityBytes: " + capacityBytes + " (expected: >= 0)");
        }
        if (guaranteedRecordsPerConnection < 1) {
            throw new IllegalArgumentException("guaranteedRecordsPerConnection: " + guaranteedRecordsPerConnection
                    + " (expected: > 0)");
        }
        this.name = name;
        this.capacityBytes = capacityBytes;
        this.guaranteedRecordsPerConnection = guaranteedRecordsPerConnection;
        LIVE.removeIf(ref -> ref.get() == null);
        LIVE.add(new WeakReference<>(this));
    }

    /**
     * The budget every handler shares unless its configuration names another: a quarter of the JVM's direct memory
     * limit ({@code -XX:MaxDirectMemorySize}, by default the heap's maximum), so sealed records alone cannot run
     * the process out of direct memory while the rest stays for the allocator's other users and the transport.
     */
    public static RecordMemoryBudget jvmDefault() {
        RecordMemoryBudget budget = jvmDefault;
        if (budget == null) {
            synchronized (RecordMemoryBudget.class) {
                budget = jvmDefault;
                if (budget == null) {
                    budget = new RecordMemoryBudget("jvmDefault", PlatformDependent.maxDirectMemory() / 4,
                            DEFAULT_GUARANTEED_RECORDS_PER_CONNECTION);
                    jvmDefault = budget;
                }
            }
        }
        return budget;
    }

    /** Budgets of this JVM not yet garbage-collected, oldest first. */
    static List<RecordMemoryBudgetMetric> liveBudgets() {
        List<RecordMemoryBudgetMetric> budgets = new ArrayList<>();
        for (WeakReference<RecordMemoryBudget> ref : LIVE) {
            RecordMemoryBudget budget = ref.get();
            if (budget != null) {
                budgets.add(budget);
            }
        }
        return Collections.unmodifiableList(budgets);
    }

    /** Bytes a record of {@code payloadBytes} is charged: its size on the wire at the largest expansion. */
    static int recordBytes(int payloadBytes) {
        return TlsRecords.HEADER_LENGTH + payloadBytes + MAX_SEAL_EXPANSION;
    }

    // ------------------------------------------------------------------ acquire and release

    /**
     * A connection's place in the queue. Its fields are guarded by the budget's lock; {@link #run()} is the
     * resume task, executed on {@link #executor()} after a grant, and takes the grant with {@link #takeGrant}.
     */
    abstract static class Waiter implements Runnable {
        /** Bytes asked for while queued; guarded by the budget's lock. */
        private long wantedBytes;
        /** In the queue now; guarded by the budget's lock. */
        private boolean queued;
        /** Reserved for this waiter by a release and not yet taken; guarded by the budget's lock. */
        private long grantedBytes;

        /** The thread that owns the waiter: grants resume it there. */
        abstract Executor executor();
    }

    /**
     * Takes {@code bytes} from the pool if they fit and nobody waits; otherwise queues {@code waiter}, which
     * resumes (its {@link Waiter#run()} on its executor) once a release reserved the bytes for it. True when the
     * bytes are taken now. A waiter that is queued or holds a grant must not ask again before it took the grant.
     */
    boolean acquireOrWait(Waiter waiter, long bytes) {
        if (waiting == 0 && tryReserve(bytes)) {
            return true;
        }
        List<Waiter> granted;
        boolean servedNow;
        synchronized (lock) {
            assert !waiter.queued && waiter.grantedBytes == 0 : "asked twice: " + waiter.wantedBytes;
            waiter.wantedBytes = bytes;
            waiter.queued = true;
            waiters.addLast(waiter);
            waiting = waiters.size(); // published before the check below (see Threads)
            granted = serveLocked();
            // Served at once: the bytes are this caller's now, and it needs no resume task.
            servedNow = granted.remove(waiter);
            if (servedNow) {
                waiter.grantedBytes = 0;
            }
        }
        if (!servedNow) {
            waits.increment();
        }
        resumeAll(granted);
        return servedNow;
    }

    /** Takes {@code bytes} whatever the pool holds: a connection's guaranteed record, or a final alert. */
    void forceAcquire(long bytes) {
        notePeak(used.addAndGet(bytes));
    }

    /** Gives back {@code bytes} and serves the waiters they let through. */
    void release(long bytes) {
        long now = used.addAndGet(-bytes);
        assert now >= 0 : "released more than held: " + now + " after " + bytes;
        if (waiting != 0) {
            List<Waiter> granted;
            synchronized (lock) {
                granted = serveLocked();
            }
            resumeAll(granted);
        }
    }

    /**
     * On the waiter's executor, in its resume task: the bytes reserved for it (0 when {@link #cancel} came first).
     * The caller holds them from now on.
     */
    long takeGrant(Waiter waiter) {
        synchronized (lock) {
            long bytes = waiter.grantedBytes;
            waiter.grantedBytes = 0;
            return bytes;
        }
    }

    /** The waiter's connection ends: it leaves the queue, and a grant it did not take yet goes back to the pool. */
    void cancel(Waiter waiter) {
        long grant;
        synchronized (lock) {
            if (waiter.queued) {
                waiter.queued = false;
                waiters.remove(waiter);
                waiting = waiters.size();
            }
            grant = waiter.grantedBytes;
            waiter.grantedBytes = 0;
        }
        if (grant != 0) {
            release(grant);
        }
    }

    /** Reserves for the queue's head while its bytes fit, oldest first; the caller resumes the returned waiters. */
    private List<Waiter> serveLocked() {
        List<Waiter> granted = Collections.emptyList();
        Waiter head;
        while ((head = waiters.peekFirst()) != null && tryReserve(head.wantedBytes)) {
            waiters.pollFirst();
            head.queued = false;
            head.grantedBytes = head.wantedBytes;
            if (granted.isEmpty()) {
                granted = new ArrayList<>(2);
            }
            granted.add(head);
        }
        waiting = waiters.size();
        return granted;
    }

    /** Outside the lock: a resume task runs on another event loop, and may run before execute returns. */
    private void resumeAll(List<Waiter> granted) {
        for (Waiter waiter : granted) {
            try {
                waiter.executor().execute(waiter);
            } catch (RejectedExecutionException e) {
                // The loop is shutting down and its connection will not frame again: the grant goes back.
                cancel(waiter);
            }
        }
    }

    private boolean tryReserve(long bytes) {
        for (;;) {
            long current = used.get();
            long next = current + bytes;
            if (next > capacityBytes) {
                return false;
            }
            if (used.compareAndSet(current, next)) {
                notePeak(next);
                return true;
            }
        }
    }

    private void notePeak(long now) {
        if (now > peak.get()) {
            peak.accumulateAndGet(now, Math::max);
        }
    }

    // ------------------------------------------------------------------ metric

    @Override
    public String name() {
        return name;
    }

    @Override
    public long capacityBytes() {
        return capacityBytes;
    }

    @Override
    public int guaranteedRecordsPerConnection() {
        return guaranteedRecordsPerConnection;
    }

    @Override
    public long usedBytes() {
        return used.get();
    }

    @Override
    public long peakUsedBytes() {
        return peak.get();
    }

    @Override
    public long waits() {
        return waits.sum();
    }

    @Override
    public int waitingConnections() {
        return waiting;
    }

    @Override
    public String toString() {
        return "RecordMemoryBudget(" + name + ", capacityBytes: " + capacityBytes + ", guaranteedRecordsPerConnection: "
                + guaranteedRecordsPerConnection + ", usedBytes: " + usedBytes() + ')';
    }
}
