package io.ktls.handler;

import io.netty.util.concurrent.EventExecutor;

import java.util.concurrent.Executor;

/**
 * One connection's share of a {@link RecordMemoryBudget}: the records it holds, the reservation of its current
 * framing pass, and its place in the budget's queue when the pool is exhausted.
 *
 * <p>Steps, per framing pass: {@link #reserveRecord()} before each record (true within the guarantee, from the
 * pass's credit, or from the pool; false queues the connection and framing stops), {@link #charge} when a record
 * is framed (its own size, from the credit, or taken outright for a guaranteed record or a final alert),
 * {@link #endPass()} gives back the credit not used; {@link #release} when the record's write completes or it is
 * discarded. A grant resumes the connection through {@link #run()}, on its event loop.
 *
 * <p>Event loop only: the budget runs {@link #run()} on {@link #executor()}, and the fields the budget's
 * releases touch (queued, granted) live in {@link RecordMemoryBudget.Waiter} under the budget's lock.
 */
final class RecordBudgetShare extends RecordMemoryBudget.Waiter {

    private final RecordMemoryBudget budget;
    private final EventExecutor executor;
    /** A full record's charge: what a pass reserves before it knows a record's size. */
    private final int reserveBytes;
    /** What framing does when budget comes back. */
    private final Runnable resume;
    /** Records charged and not given back yet. */
    private int heldRecords;
    /** Reserved from the pool by this pass and not charged to a record yet. */
    private long creditBytes;
    /** Queued in the budget (or holding a grant not taken yet). */
    private boolean waiting;
    private boolean closed;

    RecordBudgetShare(RecordMemoryBudget budget, EventExecutor executor, int maxRecordPayloadBytes,
                      Runnable resume) {
        this.budget = budget;
        this.executor = executor;
        this.reserveBytes = RecordMemoryBudget.recordBytes(maxRecordPayloadBytes);
        this.resume = resume;
    }

    @Override
    Executor executor() {
        return executor;
    }

    /** Whether one more record may be framed now; false: the connection waits for the budget, queued. */
    boolean reserveRecord() {
        assert executor.inEventLoop();
        if (heldRecords < budget.guaranteedRecordsPerConnection() || creditBytes >= reserveBytes) {
            return true;
        }
        if (waiting || closed || reserveBytes > budget.capacityBytes()) {
            // A pool smaller than one record can never lend one: waiting for it would leave the channel
            // unwritable for good, so such a connection lives on its guaranteed records alone.
            return false;
        }
        if (budget.acquireOrWait(this, reserveBytes)) {
            creditBytes += reserveBytes;
            return true;
        }
        waiting = true;
        return false;
    }

    /** {@code record} was framed: it holds its own size from now until {@link #release}. */
    void charge(OutboundRecord record) {
        assert record.budgetBytes == 0 : "charged twice: " + record;
        int bytes = RecordMemoryBudget.recordBytes(record.payloadLength);
        record.budgetBytes = bytes;
        heldRecords++;
        if (creditBytes >= bytes) {
            creditBytes -= bytes;
        } else {
            // A guaranteed record, a second record of one step (a KeyUpdate before data), or a final alert.
            budget.forceAcquire(bytes);
        }
    }

    /** The pass is over: the reservation not charged to a record goes back to the pool. */
    void endPass() {
        long credit = creditBytes;
        if (credit != 0) {
            creditBytes = 0;
            budget.release(credit);
        }
    }

    /** {@code record} was written or discarded: its bytes go back; a second call does nothing. */
    void release(OutboundRecord record) {
        int bytes = record.budgetBytes;
        if (bytes == 0) {
            return;
        }
        record.budgetBytes = 0;
        heldRecords--;
        budget.release(bytes);
    }

    /** Queued for budget: the channel stays unwritable meanwhile. */
    boolean isWaiting() {
        return waiting;
    }

    /**
     * Nothing more is framed: leaves the queue and gives back any reservation. Records still held are released
     * one by one as they end. Idempotent.
     */
    void close() {
        closed = true;
        endPass();
        if (waiting) {
            waiting = false;
            budget.cancel(this);
        }
    }

    /** A release reserved a record's worth for this connection: framing resumes with it. */
    @Override
    public void run() {
        long granted = budget.takeGrant(this);
        if (granted == 0) {
            return; // cancelled by close() before this ran
        }
        waiting = false;
        if (closed) {
            budget.release(granted);
            return;
        }
        creditBytes += granted;
        resume.run();
        endPass(); // in case resume framed nothing (the layer failed meanwhile)
    }
}
