package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.RecordCipher;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.UnsupportedMessageTypeException;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.ReferenceCountUtil;

import javax.net.ssl.SSLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The write side of the record layer: pending writes in, records out, in sequence order.
 *
 * <h2>Steps</h2>
 * <ol>
 *   <li><b>write</b>: the message is queued as a {@link PendingWrite}, not copied; nothing is framed yet, so
 *       small writes coalesce (as {@code SslHandler} does, up to a flush).</li>
 *   <li><b>flush</b>: the queued writes become eligible; <b>framing</b> cuts their bytes into records of at most
 *       {@code maxRecordPayloadBytes}, each with the next sequence number (hence its nonce), and submits each
 *       to the {@link RecordSealer}; framing stops while {@code maxRecordsInFlight} records are unacknowledged
 *       (framed but their socket write not yet complete).</li>
 *   <li><b>ready prefix</b>: records complete in any order; only the contiguous prefix of completed records
 *       is written, then flushed once.</li>
 *   <li><b>acknowledge</b>: when a record's socket write completes, the writes whose last byte it carried
 *       complete (promise, release) and framing resumes.</li>
 * </ol>
 * <p>Turns: a socket write usually completes at once, inside the transport's write loop, and its completion
 * frames the next records; sealed inline, a stream then sealed record after record in one flush task after
 * another without the event loop polling its sockets (Netty runs 64 tasks between looks at the clock), and the
 * other connections of that loop, a new client's handshake among them, waited for seconds. So a connection frames
 * at most {@code maxRecordsInFlight} records per turn, whoever asks (a flush, a write completion); beyond that,
 * framing waits for the next turn. The first record of a turn schedules the next one, a task with no delay:
 * Netty moves due scheduled tasks to its run queue once per pass, after polling the sockets and before running
 * the queue, so the next turn begins after the loop has served its other channels; a connection that frames
 * little never waits for it.
 *
 * <p>Writability: the channel turns unwritable (user-defined writability bit {@link #WRITABILITY_INDEX}) when the
 * unacknowledged records reach the cap or the queued, unframed bytes reach cap x record size, and writable
 * again below half of both; so producers pause for a slow reader and memory stays bounded.
 *
 * <p>Answers to the peer (a KeyUpdate for its update_requested, a no_renegotiation warning for a HelloRequest)
 * are owed, not framed at once: each is framed ahead of queued data when a slot under {@code maxRecordsInFlight}
 * is free, and a request that arrives while the same answer is owed or framed but not yet written is covered by
 * it (RFC 8446 section 4.6.3 allows one KeyUpdate for many). So a peer that sends requests and stops reading
 * gets no record beyond the cap (only a fatal alert, which ends the connection, may go past it) and costs at
 * most one owed answer of each kind.
 *
 * <p>Sequence numbers never wrap: TLS 1.3 sends a KeyUpdate before {@link #keyUpdateAfterRecords} records of
 * one key (below the AEAD's limit); TLS 1.2 has no rekeying and fails the connection at the suite's
 * {@link TlsCipherSuite#maxRecordsPerKey()} (2^24 for AES-GCM) or at 2^64 - 1.
 *
 * <p>Event loop only; the sealer hands completions back through the event loop.
 */
final class OutboundRecordLayer implements RecordSealer.Completion {

    /**
     * Bit of {@link ChannelOutboundBuffer#setUserDefinedWritability(int, boolean)} this layer drives; Netty
     * reserves none of 1-31, and codecs that use the mechanism (HTTP/2 flow control) sit above this handler.
     */
    static final int WRITABILITY_INDEX = 27;
    /**
     * AES-GCM: RFC 8446 section 5.5 allows 2^24.5 full records per key; rekeying at 2^24 keeps a margin.
     * ChaCha20-Poly1305's limit is beyond 2^64 records, but rekeying as often costs nothing measurable.
     */
    static final long DEFAULT_KEY_UPDATE_AFTER_RECORDS = 1L << 24;
    /**
     * Acknowledgements come one record at a time; framing one record for each would hand records to an offload
     * worker one by one (a queue operation and often two wake-ups per 16 KiB). So framing resumes once this many
     * slots are free (at most a quarter of the cap, so at least three quarters of the pipeline stay full): 8
     * records, 128 KiB, per hand-off with the default cap of 32.
     */
    static final int FRAME_BATCH_RECORDS = 8;

    interface Listener {
        /**
         * A record could not be sealed (crypto or file error, like KTLS's EIO) or no sequence number is left:
         * the connection must end with an error, without a further record.
         */
        void recordLayerFailed(Throwable cause);

        /**
         * The transport failed to write a record (peer gone, channel closed): the writes it carried have failed;
         * the connection ends, and the transport has reported its own error if it had one.
         */
        void writeFailed(Throwable cause);
    }

    private final ChannelHandlerContext ctx;
    private final TlsCipherSuite suite;
    private final int maxRecordPayloadBytes;
    private final int maxRecordsInFlight;
    private final long maxQueuedBytes;
    private final long keyUpdateAfterRecords;
    /** {@link #FRAME_BATCH_RECORDS}, limited to a quarter of the cap (at least 1). */
    private final int frameBatchRecords;
    private final Listener listener;
    private final AeadProvider provider;
    private RecordSealer sealer;
    /** TLS 1.3: the current write keys, kept to derive the next generation; null for TLS 1.2. */
    private TrafficKeys writeKeys;

    private final ArrayDeque<PendingWrite> unflushed = new ArrayDeque<>();
    private final ArrayDeque<PendingWrite> flushed = new ArrayDeque<>();
    /** Framed records not yet handed to the channel, in sequence order. */
    private final ArrayDeque<OutboundRecord> inFlight = new ArrayDeque<>();
    /** The last record handed to the channel whose write has not completed yet (zero-length writes wait on it). */
    private OutboundRecord lastUnacknowledged;
    private long nextSequence;
    private int unacknowledgedRecords;
    private long queuedBytes;
    private boolean unwritable;
    private boolean framing;
    private boolean writingPrefix;
    /** Records framed since the current turn began (see Turns above); a turn begins after its first record. */
    private int framedThisTurn;
    /** The next turn is scheduled and has not begun. */
    private boolean turnScheduled;
    private final Runnable nextTurn = this::nextTurn;
    /** close_notify requested: framed once everything queued before it is framed; then this promise. */
    private ChannelPromise closeNotifyPromise;
    private boolean outboundClosed;
    private Throwable failure;
    /** A KeyUpdate answer requested, not yet framed; then the framed answer until its write completes. */
    private boolean keyUpdateAnswerOwed;
    private OutboundRecord keyUpdateAnswer;
    /** Likewise for the no_renegotiation warning answering a HelloRequest. */
    private boolean noRenegotiationAnswerOwed;
    private OutboundRecord noRenegotiationAnswer;

    OutboundRecordLayer(ChannelHandlerContext ctx, TlsCipherSuite suite, KtlsConfig config, long writeSequence,
                        TrafficKeys writeKeys, long keyUpdateAfterRecords, AeadProvider provider,
                        Listener listener) {
        this.provider = provider;
        this.ctx = ctx;
        this.suite = suite;
        this.maxRecordPayloadBytes = config.maxRecordPayloadBytes();
        this.maxRecordsInFlight = config.maxRecordsInFlight();
        this.maxQueuedBytes = (long) config.maxRecordsInFlight() * config.maxRecordPayloadBytes();
        this.frameBatchRecords = Math.max(1, Math.min(FRAME_BATCH_RECORDS, config.maxRecordsInFlight() / 4));
        this.nextSequence = writeSequence;
        this.writeKeys = writeKeys;
        this.keyUpdateAfterRecords = keyUpdateAfterRecords;
        this.listener = listener;
    }

    /** Set once, right after construction (the sealer's completion is this object). */
    void sealer(RecordSealer sealer) {
        this.sealer = sealer;
    }

    long nextSequence() {
        return nextSequence;
    }

    int unacknowledgedRecords() {
        return unacknowledgedRecords;
    }

    /** Takes ownership of {@code msg}: queued, or released with {@code promise} failed. */
    void write(Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf || msg instanceof FileRegion || msg instanceof ChunkedInput)) {
            ReferenceCountUtil.release(msg);
            promise.setFailure(new UnsupportedMessageTypeException(msg, ByteBuf.class, FileRegion.class,
                    ChunkedInput.class));
            return;
        }
        if (failure != null || outboundClosed || closeNotifyPromise != null) {
            PendingWrite rejected = new PendingWrite(msg, promise);
            rejected.fail(failure != null ? failure : new SSLException("SSLEngine closed already"));
            return;
        }
        PendingWrite write = new PendingWrite(msg, promise);
        unflushed.add(write);
        queuedBytes += sizeOf(msg);
        updateWritability();
    }

    void flush() {
        flushed.addAll(unflushed);
        unflushed.clear();
        frameAvailable();
    }

    /**
     * Sends close_notify after everything written so far (flushing it), completing {@code promise} when the
     * alert is written. Later writes fail.
     */
    void closeOutbound(ChannelPromise promise) {
        if (outboundClosed || closeNotifyPromise != null) {
            ChannelPromise previous = closeNotifyPromise;
            if (previous != null) {
                previous.addListener(f -> cascade(f, promise));
            } else {
                promise.trySuccess();
            }
            return;
        }
        closeNotifyPromise = promise;
        flush();
    }

    /**
     * TLS 1.3: answers the peer's KeyUpdate(update_requested) with a KeyUpdate of our write keys, ahead of queued
     * data once a slot under the cap is free; covered by an answer still owed or unwritten.
     */
    void keyUpdate(boolean requestPeerUpdate) {
        assert !requestPeerUpdate : "only answers are sent: update_not_requested";
        if (writeKeys == null || failure != null || outboundClosed) {
            return;
        }
        if (keyUpdateAnswerOwed || keyUpdateAnswer != null) {
            KtlsStats.GLOBAL.answerCoalesced();
            return;
        }
        keyUpdateAnswerOwed = true;
        frameAvailable();
    }

    /**
     * Sends a fatal alert right after the records already framed and stops: queued writes fail, nothing else is
     * framed. {@code promise} completes when the alert is written; after close_notify (no alert may follow it),
     * when close_notify is written.
     */
    void fatalAlert(byte description, Throwable cause, ChannelPromise promise) {
        if (failure != null) {
            promise.trySuccess();
            return;
        }
        if (outboundClosed) {
            // close_notify is framed and nothing may follow it: done once it (and what precedes it) is written,
            // not now, or the close waiting on this would drop records still being sealed.
            completeAfterFramedRecords(promise);
            return;
        }
        failPending(cause);
        if (closeNotifyPromise != null) {
            // A close was waiting for queued data that will never go: the fatal alert replaces close_notify. Its
            // promise fails once the alert is written, so the close waiting on it does not cut the alert off.
            ChannelPromise replaced = closeNotifyPromise;
            closeNotifyPromise = null;
            promise.addListener(f -> replaced.tryFailure(cause));
        }
        frameAlert(TlsRecords.ALERT_FATAL, description, promise);
        outboundClosed = true;
        sealer.dispatch();
        writeReadyPrefix();
    }

    /** Completes {@code promise} with the write of the last record framed (now if none is pending). */
    private void completeAfterFramedRecords(ChannelPromise promise) {
        completeAfterFramedRecords(new PendingWrite(null, promise));
    }

    /** Completes {@code write}, which carries no byte, with the write of the last record framed (now if none). */
    private void completeAfterFramedRecords(PendingWrite write) {
        OutboundRecord last = inFlight.peekLast() != null ? inFlight.peekLast() : lastUnacknowledged;
        if (last == null) {
            write.succeed();
        } else {
            last.completes.add(write);
        }
    }

    /**
     * Zero-length writes at the head of the queue (an HTTP codec's empty {@code LastHttpContent}, say) complete
     * with the records before them even when this turn frames no more: the peer may have read those records and
     * closed before the next turn, and the write must not fail for want of a turn.
     */
    private void completeEmptyWrites() {
        PendingWrite write;
        while ((write = flushed.peekFirst()) != null && write.isEmpty()) {
            flushed.pollFirst();
            completeAfterFramedRecords(write);
        }
    }

    /**
     * A warning alert in sequence with the data: the no_renegotiation answering a HelloRequest, framed like a
     * {@link #keyUpdate} answer (owed, under the cap, one at a time).
     */
    void warningAlert(byte description) {
        assert description == TlsRecords.NO_RENEGOTIATION : "warning " + description;
        if (failure != null || outboundClosed) {
            return;
        }
        if (noRenegotiationAnswerOwed || noRenegotiationAnswer != null) {
            KtlsStats.GLOBAL.answerCoalesced();
            return;
        }
        noRenegotiationAnswerOwed = true;
        frameAvailable();
    }

    /**
     * Fails everything: queued writes, and records not yet written (their writes fail; records still with the
     * sealer are released when they come back). Idempotent.
     */
    void fail(Throwable cause) {
        if (failure != null) {
            return;
        }
        failure = cause;
        outboundClosed = true;
        failPending(cause);
        while (!inFlight.isEmpty() && inFlight.peekFirst().completed) {
            discard(inFlight.pollFirst(), cause);
        }
        if (closeNotifyPromise != null) {
            closeNotifyPromise.tryFailure(cause);
        }
        setWritable(true);
    }

    /** Ends the layer (after {@link #fail}): the sealer drops its keys once its queued records are done. */
    void close() {
        if (failure == null) {
            fail(new SSLException("record layer closed"));
        }
        if (sealer != null) {
            sealer.close();
            sealer = null;
        }
        if (writeKeys != null) {
            writeKeys.close();
            writeKeys = null;
        }
    }

    private void failPending(Throwable cause) {
        for (PendingWrite write : unflushed) {
            write.fail(cause);
        }
        unflushed.clear();
        for (PendingWrite write : flushed) {
            write.fail(cause);
        }
        flushed.clear();
        queuedBytes = 0;
    }

    private void frameAvailable() {
        if (framing) {
            return;
        }
        framing = true;
        try {
            while (failure == null && !outboundClosed && unacknowledgedRecords < maxRecordsInFlight) {
                if (framedThisTurn >= maxRecordsInFlight) {
                    completeEmptyWrites();
                    if (!flushed.isEmpty() || closeNotifyPromise != null) {
                        scheduleNextTurn();
                        break;
                    }
                }
                if (keyUpdateAnswerOwed) {
                    // RFC 8446 section 4.6.3: before our next application data.
                    keyUpdateAnswerOwed = false;
                    keyUpdateAnswer = frameKeyUpdate(false);
                } else if (noRenegotiationAnswerOwed) {
                    noRenegotiationAnswerOwed = false;
                    if (nextSequence != -1L && !tls12KeyUsedUp()) {
                        // At the key's limit (or 2^64 - 1) the only records left to send are final ones
                        // (close_notify, a fatal alert): a peer alternating data and HelloRequests gets no more.
                        noRenegotiationAnswer = frameAlert(TlsRecords.ALERT_WARNING, TlsRecords.NO_RENEGOTIATION,
                                null);
                    }
                } else if (!flushed.isEmpty()) {
                    if (!frameDataRecord()) {
                        break;
                    }
                } else if (closeNotifyPromise != null) {
                    frameAlert(TlsRecords.ALERT_WARNING, TlsRecords.CLOSE_NOTIFY, closeNotifyPromise);
                    closeNotifyPromise = null;
                    outboundClosed = true;
                } else {
                    break;
                }
            }
        } finally {
            framing = false;
        }
        sealer.dispatch();
        updateWritability();
        writeReadyPrefix();
    }

    /** Frames one application-data record from the front of {@link #flushed}; false if nothing was framed. */
    private boolean frameDataRecord() {
        if (!sequenceAvailable()) {
            return false;
        }
        List<RecordPiece> pieces = new ArrayList<>(2);
        List<PendingWrite> completed = null;
        int payloadLength = 0;
        boolean inPlace = false;
        while (payloadLength < maxRecordPayloadBytes && !flushed.isEmpty()) {
            PendingWrite write = flushed.peekFirst();
            long available;
            try {
                available = write.available(ctx.alloc());
                if (available > 0) {
                    int n = (int) Math.min(available, maxRecordPayloadBytes - payloadLength);
                    if (write.message instanceof FileRegion) {
                        FileRegion region = (FileRegion) write.message;
                        pieces.add(RecordPiece.of(region.retain(), write.readerOffset, n));
                    } else {
                        ByteBuf buf = write.currentBuffer();
                        pieces.add(RecordPiece.of(buf.retainedSlice((int) write.readerOffset, n)));
                        inPlace = pieces.size() == 1 && write.sealableInPlace;
                    }
                    write.consumed(n);
                    payloadLength += n;
                    queuedBytes -= write.isChunked() ? 0 : n;
                }
                if (!write.isFullyFramed()) {
                    if (available == 0) {
                        break;
                    }
                    continue;
                }
            } catch (Exception e) {
                flushed.pollFirst();
                write.fail(e);
                continue;
            }
            flushed.pollFirst();
            if (completed == null) {
                completed = new ArrayList<>(2);
            }
            completed.add(write);
        }
        if (pieces.isEmpty()) {
            if (completed == null) {
                return false;
            }
            // Zero-length writes: done when everything before them is written.
            completed.forEach(this::completeAfterFramedRecords);
            return true;
        }
        if (pieces.size() > 1) {
            inPlace = false;
        }
        OutboundRecord record = new OutboundRecord(nextSequence++, TlsRecords.APPLICATION_DATA, pieces,
                payloadLength, inPlace, null);
        if (completed != null) {
            record.completes.addAll(completed);
        }
        submit(record);
        return true;
    }

    /**
     * Makes sure the next sequence number is usable before anything is taken from the queue: TLS 1.3 sends a
     * KeyUpdate at the key's record limit; TLS 1.2 fails the connection at 2^64 - 1.
     */
    private boolean sequenceAvailable() {
        if (writeKeys != null && Long.compareUnsigned(nextSequence, keyUpdateAfterRecords) >= 0
                && frameKeyUpdate(false) == null) {
            return false;
        }
        if (tls12KeyUsedUp()) {
            SSLException cause = new SSLException("record limit of the write key reached ("
                    + suite.maxRecordsPerKey() + " records, and TLS 1.2 cannot rekey)");
            fail(cause);
            listener.recordLayerFailed(cause);
            return false;
        }
        if (nextSequence == -1L) {
            SSLException cause = new SSLException("write sequence number exhausted (2^64 - 1 records)");
            fail(cause);
            listener.recordLayerFailed(cause);
            return false;
        }
        return true;
    }

    /** TLS 1.2 cannot rekey: an AES-GCM key ends at its record limit (RFC 8446 section 5.5's, with a margin). */
    private boolean tls12KeyUsedUp() {
        return writeKeys == null && suite.maxRecordsPerKey() != Long.MAX_VALUE
                && Long.compareUnsigned(nextSequence, suite.maxRecordsPerKey()) >= 0;
    }

    /**
     * Frames a KeyUpdate carrying the next generation's cipher and returns it; null when that cipher cannot be
     * made: then the layer has failed (no record may follow on a key due for replacement, and an exception must
     * not escape a flush with writes left pending).
     */
    private OutboundRecord frameKeyUpdate(boolean requestPeerUpdate) {
        TrafficKeys next = null;
        RecordCipher nextCipher;
        try {
            next = writeKeys.nextGeneration();
            nextCipher = RecordCipher.create(suite, next, provider);
        } catch (RuntimeException e) {
            if (next != null) {
                next.close();
            }
            SSLException cause = new SSLException("KeyUpdate failed: no cipher for the next write keys", e);
            fail(cause);
            listener.recordLayerFailed(cause);
            return null;
        }
        writeKeys.close();
        writeKeys = next;
        ByteBuf message = ctx.alloc().buffer(5);
        message.writeByte(TlsRecords.KEY_UPDATE).writeMedium(1).writeByte(requestPeerUpdate ? 1 : 0);
        OutboundRecord record = OutboundRecord.control(nextSequence, TlsRecords.HANDSHAKE, message, nextCipher);
        submit(record);
        nextSequence = 0;
        return record;
    }

    private OutboundRecord frameAlert(byte level, byte description, ChannelPromise promise) {
        ByteBuf alert = ctx.alloc().buffer(2);
        alert.writeByte(level).writeByte(description);
        OutboundRecord record = OutboundRecord.control(nextSequence++, TlsRecords.ALERT, alert, null);
        if (promise != null) {
            record.completes.add(new PendingWrite(null, promise));
        }
        submit(record);
        return record;
    }

    /**
     * Begins a turn: the event loop has polled its sockets since the previous one began. Frames what the previous
     * turn had to leave, if anything.
     */
    private void nextTurn() {
        assert ctx.executor().inEventLoop();
        turnScheduled = false;
        framedThisTurn = 0;
        if (sealer != null && (!flushed.isEmpty() || closeNotifyPromise != null)) {
            frameAvailable();
        }
    }

    private void scheduleNextTurn() {
        if (turnScheduled) {
            return;
        }
        turnScheduled = true;
        try {
            ctx.executor().schedule(nextTurn, 0, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down and closes the channel: nothing more will be written.
            turnScheduled = false;
        }
    }

    private void submit(OutboundRecord record) {
        if (framedThisTurn++ == 0) {
            // The turn's first record: its end (the next turn) is due after the next poll of the sockets.
            scheduleNextTurn();
        }
        inFlight.addLast(record);
        unacknowledgedRecords++;
        KtlsStats.GLOBAL.recordQueued();
        sealer.submit(record);
    }

    @Override
    public void recordSealed(OutboundRecord record) {
        assert ctx.executor().inEventLoop();
        assert record.state != OutboundRecord.State.FRAMED : "completed before sealed: " + record;
        record.completed = true;
        writeReadyPrefix();
    }

    @Override
    public void recordsSealed(List<OutboundRecord> records) {
        assert ctx.executor().inEventLoop();
        for (OutboundRecord record : records) {
            assert record.state != OutboundRecord.State.FRAMED : "completed before sealed: " + record;
            record.completed = true;
        }
        writeReadyPrefix();
    }

    /** Writes the contiguous prefix of completed records, then flushes once. */
    private void writeReadyPrefix() {
        if (writingPrefix || framing) {
            return;
        }
        writingPrefix = true;
        boolean wrote = false;
        try {
            OutboundRecord head;
            while ((head = inFlight.peekFirst()) != null && head.completed) {
                inFlight.pollFirst();
                if (failure != null) {
                    discard(head, failure);
                    continue;
                }
                if (head.state == OutboundRecord.State.FAILED) {
                    Throwable cause = new SSLException("sealing record " + head.sequence + " failed", head.failure);
                    discard(head, cause);
                    fail(cause);
                    listener.recordLayerFailed(cause);
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
        unacknowledgedRecords--;
        KtlsStats.GLOBAL.recordCompleted();
        if (lastUnacknowledged == record) {
            lastUnacknowledged = null;
        }
        if (record == keyUpdateAnswer) {
            keyUpdateAnswer = null; // written: the next request gets an answer of its own
        } else if (record == noRenegotiationAnswer) {
            noRenegotiationAnswer = null;
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
        if (!future.isSuccess() && failure == null) {
            fail(future.cause());
            listener.writeFailed(future.cause());
            return;
        }
        if (unacknowledgedRecords > 0 && maxRecordsInFlight - unacknowledgedRecords < frameBatchRecords) {
            // Another acknowledgement is due; it frames a batch (writability flips only at half the cap, below).
            return;
        }
        frameAvailable();
    }

    /** A record that will not be written: gives back what it holds and fails its writes. */
    private void discard(OutboundRecord record, Throwable cause) {
        record.releaseOutput();
        record.releasePlaintext();
        unacknowledgedRecords--;
        KtlsStats.GLOBAL.recordCompleted();
        for (PendingWrite write : record.completes) {
            write.fail(cause);
        }
        record.completes.clear();
    }

    private void updateWritability() {
        if (!unwritable) {
            if (unacknowledgedRecords >= maxRecordsInFlight || queuedBytes >= maxQueuedBytes) {
                setWritable(false);
            }
        } else if (unacknowledgedRecords <= maxRecordsInFlight / 2 && queuedBytes < maxQueuedBytes / 2) {
            setWritable(true);
        }
    }

    private void setWritable(boolean writable) {
        if (unwritable == !writable) {
            return;
        }
        unwritable = !writable;
        ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
        if (buffer != null) {
            buffer.setUserDefinedWritability(WRITABILITY_INDEX, writable);
        }
    }

    private static long sizeOf(Object msg) {
        if (msg instanceof ByteBuf) {
            return ((ByteBuf) msg).readableBytes();
        }
        if (msg instanceof FileRegion) {
            FileRegion region = (FileRegion) msg;
            return region.count() - region.transferred();
        }
        return 0;
    }

    private static void cascade(io.netty.util.concurrent.Future<?> from, ChannelPromise to) {
        if (from.isSuccess()) {
            to.trySuccess();
        } else {
            to.tryFailure(from.cause());
        }
    }
}
