package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

import javax.net.ssl.SSLException;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The records of one connection from framing until their socket write completes, in sequence order: the
 * ready-prefix step of the outbound path. Records complete (sealed or failed) in any order; only the contiguous
 * prefix of completed records is handed to the channel, then flushed once, so completion order never reorders
 * the stream. When a record's write completes, the writes whose last byte it carried complete with it.
 *
 * <p>Event loop only.
 */
final class InFlightRecords {

    /** What the outbound layer learns from here. */
    interface Events {
        /** The record at the head could not be sealed: the connection must end, without a further record. */
        void sealingFailed(Throwable cause);

        /** {@code record}'s socket write completed (its writes are completed already). */
        void written(OutboundRecord record, ChannelFuture future);
    }

    private final ChannelHandlerContext ctx;
    private final KtlsStats stats;
    private final Events events;
    /** Every record is charged here when added and released exactly once: written or discarded. */
    private final RecordBudgetShare budget;
    /** Framed records not yet handed to the channel, in sequence order. */
    private final ArrayDeque<OutboundRecord> unwritten = new ArrayDeque<>();
    /** The last record handed to the channel whose write has not completed yet (zero-length writes wait on it). */
    private OutboundRecord lastUnacknowledged;
    /** Framed records whose socket write has not completed: what {@code maxRecordsInFlight} bounds. */
    private int unacknowledged;
    /** Set when the layer fails: completed records are then given back, not written. */
    private Throwable failure;
    /** A write may fail inside {@code ctx.write} (a closed channel), and that failure reports records again. */
    private boolean writingPrefix;

    InFlightRecords(ChannelHandlerContext ctx, KtlsStats stats, Events events, RecordBudgetShare budget) {
        this.ctx = ctx;
        this.stats = stats;
        this.events = events;
        this.budget = budget;
    }

    /** A record just framed (and submitted to the sealer). */
    void add(OutboundRecord record) {
        unwritten.addLast(record);
        unacknowledged++;
        budget.charge(record);
        stats.recordQueued();
    }

    int unacknowledged() {
        return unacknowledged;
    }

    /** Completes {@code write}, which carries no byte, with the write of the last record framed (now if none). */
    void completeAfterLast(PendingWrite write) {
        OutboundRecord last = unwritten.peekLast() != null ? unwritten.peekLast() : lastUnacknowledged;
        if (last == null) {
            write.succeed();
        } else {
            last.completes.add(write);
        }
    }

    /**
     * Nothing more is written: completed records are given back now (their writes fail), records still with the
     * sealer when they come back. Idempotent.
     */
    void fail(Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
        while (!unwritten.isEmpty() && unwritten.peekFirst().completed) {
            discard(unwritten.pollFirst(), failure);
        }
    }

    /** The sealer's report: marks the records done, then writes the ready prefix. */
    void sealed(List<OutboundRecord> records) {
        for (OutboundRecord record : records) {
            assert record.state != OutboundRecord.State.FRAMED : "completed before sealed: " + record;
            record.completed = true;
        }
        writeReadyPrefix();
    }

    /** Writes the contiguous prefix of completed records, then flushes once. */
    private void writeReadyPrefix() {
        if (writingPrefix) {
            return; // reported from inside the loop below, which takes these records too
        }
        writingPrefix = true;
        boolean wrote = false;
        try {
            OutboundRecord head;
            while ((head = unwritten.peekFirst()) != null && head.completed) {
                unwritten.pollFirst();
                if (failure != null) {
                    discard(head, failure);
                    continue;
                }
                if (head.state == OutboundRecord.State.FAILED) {
                    Throwable cause = new SSLException("sealing record " + head.sequence + " failed", head.failure);
                    discard(head, cause);
                    events.sealingFailed(cause);
                    continue;
                }
                ByteBuf output = head.takeOutput();
                ChannelPromise written = ctx.newPromise();
                OutboundRecord record = head;
                lastUnacknowledged = record;
                written.addListener((ChannelFuture f) -> recordWritten(record, f));
                ctx.write(output, written);
                wrote = true;
            }
        } finally {
            writingPrefix = false;
        }
        if (wrote) {
            ctx.flush();
        }
    }

    private void recordWritten(OutboundRecord record, ChannelFuture future) {
        unacknowledged--;
        budget.release(record);
        stats.recordCompleted();
        if (lastUnacknowledged == record) {
            lastUnacknowledged = null;
        }
        if (future.isSuccess()) {
            for (PendingWrite write : record.completes) {
                write.succeed();
            }
        } else {
            for (PendingWrite write : record.completes) {
                write.fail(future.cause());
            }
        }
        record.completes.clear();
        events.written(record, future);
    }

    /** A record that will not be written: gives back what it holds and fails its writes. */
    private void discard(OutboundRecord record, Throwable cause) {
        record.releaseOutput();
        record.releasePlaintext();
        unacknowledged--;
        budget.release(record);
        stats.recordCompleted();
        for (PendingWrite write : record.completes) {
            write.fail(cause);
        }
        record.completes.clear();
    }
}
