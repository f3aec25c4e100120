package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.UnsupportedMessageTypeException;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.ReferenceCountUtil;

import javax.net.ssl.SSLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The write side of the record layer: pending writes in, records out, in sequence order.
 *
 * <h2>Steps</h2>
 * <ol>
 *   <li><b>write</b>: the message is queued as a {@link PendingWrite}, not copied; nothing is framed yet, so
 *       small writes coalesce (as {@code SslHandler} does, up to a flush).</li>
 *   <li><b>flush</b>: the queued writes become eligible; <b>framing</b> takes from each, in turn, a
 *       {@linkplain PendingWrite#nextPiece piece} until a record of at most {@code maxRecordPayloadBytes} is full,
 *       gives it the next sequence number (hence its nonce), and submits it to the {@link RecordSealer}; after the
 *       pass, the sealer gets the batch ({@link RecordSealer#dispatch()}). Framing stops while
 *       {@code maxRecordsInFlight} records are unacknowledged (framed but their socket write not yet complete).</li>
 *   <li><b>ready prefix</b>: records complete in any order, and come back through {@link #recordsSealed}; only the
 *       contiguous prefix of completed records is written, then flushed once ({@link InFlightRecords}).</li>
 *   <li><b>acknowledge</b>: when a record's socket write completes, the writes whose last byte it carried
 *       complete (promise, release) and framing resumes.</li>
 * </ol>
 *
 * <p>Turns: a connection frames at most {@code maxRecordsInFlight} records per turn of its event loop, so a fast
 * stream cannot keep the loop from polling its other sockets ({@link FramingTurns}).
 *
 * <p>Writability: {@link OutboundWritability} turns the channel unwritable at the cap of records in flight or of
 * queued bytes, so producers pause for a slow reader and memory stays bounded.
 *
 * <p>Server budget: each record is charged to the server's {@link RecordMemoryBudget} from framing until its write
 * completes or it is discarded ({@link RecordBudgetShare}); beyond the connection's guaranteed records, framing
 * stops while the budget is exhausted (the channel unwritable meanwhile) and resumes on this loop when a release
 * hands this connection budget.
 *
 * <p>Answers to the peer (a KeyUpdate for its update_requested, a no_renegotiation warning for a HelloRequest)
 * are {@linkplain OwedAnswer owed}, not framed at once: each is framed ahead of queued data when a slot under
 * {@code maxRecordsInFlight} is free. So a peer that sends requests and stops reading gets no record beyond the
 * cap (only a fatal alert, which ends the connection, may go past it) and costs at most one answer of each kind.
 *
 * <p>Sequence numbers never wrap: TLS 1.3 sends a KeyUpdate before {@link #keyUpdateAfterRecords} records of
 * one key (below the AEAD's limit), its next cipher made by {@link ConnectionKeys.Direction#nextCipher()} and
 * carried by the KeyUpdate record to the sealing thread; TLS 1.2 has no rekeying and fails the connection at the
 * suite's {@link TlsCipherSuite#maxRecordsPerKey()} (2^24 for AES-GCM) or at 2^64 - 1.
 *
 * <h2>Lifecycle</h2>
 * <pre>
 *   OPEN ──closeOutbound──▶ CLOSING ──close_notify framed──▶ CLOSED
 *     └──────────fatal alert framed─────────────────────────────▲
 *   any ──record failed, write failed, fail()──▶ FAILED
 * </pre>
 * OPEN takes writes; CLOSING refuses new writes and frames close_notify once the queued ones are framed; CLOSED
 * frames nothing more (no record may follow close_notify or a fatal alert), but the records framed before are
 * still sealed and written; FAILED has failed every write it held and writes nothing more.
 *
 * <p>Event loop only; the sealer hands completions back through the event loop.
 */
final class OutboundRecordLayer implements OutboundPath, RecordSealer.Completion, InFlightRecords.Events {

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

    /** See the class description. */
    enum Lifecycle { OPEN, CLOSING, CLOSED, FAILED }

    private final ChannelHandlerContext ctx;
    private final TlsCipherSuite suite;
    private final KtlsStats stats;
    private final int maxRecordPayloadBytes;
    private final int maxRecordsInFlight;
    private final long keyUpdateAfterRecords;
    /** {@link #FRAME_BATCH_RECORDS}, limited to a quarter of the cap (at least 1). */
    private final int frameBatchRecords;
    private final Listener listener;
    /** Our direction's keys: a KeyUpdate takes its next cipher from here (owned by the connection's keys). */
    private final ConnectionKeys.Direction keys;
    private final OutboundWritability writability;
    private final RecordBudgetShare budget;
    /** Null once closed. */
    private RecordSealer sealer;

    private final ArrayDeque<PendingWrite> unflushed = new ArrayDeque<>();
    private final ArrayDeque<PendingWrite> flushed = new ArrayDeque<>();
    private final InFlightRecords inFlight;
    private long nextSequence;
    /** Bytes of the queued writes not framed yet (of those whose length is known). */
    private long queuedBytes;
    private Lifecycle lifecycle = Lifecycle.OPEN;
    /** Why the layer failed (FAILED). */
    private Throwable failure;
    /** The promise of the close_notify asked for (CLOSING), completed when it is written. */
    private ChannelPromise closeNotifyPromise;
    /** A pass that flushes completes writes, whose listeners may ask for another pass meanwhile. */
    private boolean framing;
    private final FramingTurns turns;
    private final OwedAnswer keyUpdateAnswer = new OwedAnswer();
    private final OwedAnswer noRenegotiationAnswer = new OwedAnswer();

    /**
     * Takes the write cipher out of {@code keys} for this direction's encryptor, and makes the sealer with the
     * configuration's factory. The sealer keeps this layer as its completion; it reports nothing before the first
     * dispatch, so handing out {@code this} before the constructor ends is safe.
     */
    OutboundRecordLayer(ChannelHandlerContext ctx, ConnectionKeys keys, long writeSequence, KtlsConfig config,
                        Listener listener) {
        this.ctx = ctx;
        this.suite = keys.suite;
        this.keys = keys.write;
        this.stats = config.stats();
        this.maxRecordPayloadBytes = config.maxRecordPayloadBytes();
        this.maxRecordsInFlight = config.maxRecordsInFlight();
        this.frameBatchRecords = Math.max(1, Math.min(FRAME_BATCH_RECORDS, config.maxRecordsInFlight() / 4));
        this.keyUpdateAfterRecords = Math.min(config.keyUpdateAfterRecords(), suite.maxRecordsPerKey());
        this.nextSequence = writeSequence;
        this.listener = listener;
        this.writability = new OutboundWritability(ctx.channel(), maxRecordsInFlight, maxRecordPayloadBytes);
        this.budget = new RecordBudgetShare(config.recordMemoryBudget(), ctx.executor(), maxRecordPayloadBytes,
                this::budgetGranted);
        this.inFlight = new InFlightRecords(ctx, stats, this, budget);
        this.turns = new FramingTurns(ctx.executor(), maxRecordsInFlight, this::nextTurn);
        RecordEncryptor encryptor = new RecordEncryptor(keys.write.takeCipher(), ctx.alloc(), stats);
        try {
            this.sealer = config.sealerFactory().create(encryptor, this, ctx.channel());
        } catch (RuntimeException e) {
            encryptor.close();
            throw e;
        }
    }

    /** True when records are sealed off the event loop. */
    @Override
    public boolean isOffloaded() {
        return sealer != null && sealer.isOffloaded();
    }

    @Override
    public long nextSequence() {
        return nextSequence;
    }

    @Override
    public int unacknowledgedRecords() {
        return inFlight.unacknowledged();
    }

    /** Takes ownership of {@code msg}: queued, or released with {@code promise} failed. */
    @Override
    public void write(Object msg, ChannelPromise promise) {
        PendingWrite write = PendingWrite.of(msg, promise);
        if (write == null) {
            ReferenceCountUtil.release(msg);
            promise.setFailure(new UnsupportedMessageTypeException(msg, ByteBuf.class, FileRegion.class,
                    ChunkedInput.class));
            return;
        }
        if (lifecycle != Lifecycle.OPEN) {
            write.fail(failure != null ? failure : new SSLException("SSLEngine closed already"));
            return;
        }
        unflushed.add(write);
        queuedBytes += write.queuedBytes();
        writability.update(inFlight.unacknowledged(), queuedBytes, budget.isWaiting());
    }

    @Override
    public void flush() {
        flushed.addAll(unflushed);
        unflushed.clear();
        frameAvailable();
    }

    /**
     * Sends close_notify after everything written so far (flushing it), completing {@code promise} when the
     * alert is written. Later writes fail.
     */
    @Override
    public void closeOutbound(ChannelPromise promise) {
        if (lifecycle != Lifecycle.OPEN) {
            ClosingSequence.joinPrevious(closeNotifyPromise, promise);
            return;
        }
        lifecycle = Lifecycle.CLOSING;
        closeNotifyPromise = promise;
        flush();
    }

    /**
     * TLS 1.3: answers the peer's KeyUpdate(update_requested) with a KeyUpdate of our write keys, ahead of queued
     * data once a slot under the cap is free; covered by an answer still owed or unwritten.
     */
    @Override
    public void keyUpdate(boolean requestPeerUpdate) {
        assert !requestPeerUpdate : "only answers are sent: update_not_requested";
        if (!keys.canUpdate() || !canAnswer()) {
            return;
        }
        if (!keyUpdateAnswer.request()) {
            stats.answerCoalesced();
            return;
        }
        frameAvailable();
    }

    /**
     * A warning alert in sequence with the data: the no_renegotiation answering a HelloRequest, framed like a
     * {@link #keyUpdate} answer (owed, under the cap, one at a time).
     */
    @Override
    public void warningAlert(byte description) {
        assert description == TlsRecords.NO_RENEGOTIATION : "warning " + description;
        if (!canAnswer()) {
            return;
        }
        if (!noRenegotiationAnswer.request()) {
            stats.answerCoalesced();
            return;
        }
        frameAvailable();
    }

    /** Answers may still be framed: nothing final (close_notify, a fatal alert) is framed and nothing failed. */
    private boolean canAnswer() {
        return lifecycle == Lifecycle.OPEN || lifecycle == Lifecycle.CLOSING;
    }

    /**
     * Sends a fatal alert right after the records already framed and stops: queued writes fail, nothing else is
     * framed. {@code promise} completes when the alert is written; after close_notify (no alert may follow it),
     * when close_notify is written.
     */
    @Override
    public void fatalAlert(byte description, Throwable cause, ChannelPromise promise) {
        if (lifecycle == Lifecycle.FAILED) {
            promise.trySuccess();
            return;
        }
        if (lifecycle == Lifecycle.CLOSED) {
            // close_notify is framed and nothing may follow it: done once it (and what precedes it) is written,
            // not now, or the close waiting on this would drop records still being sealed.
            inFlight.completeAfterLast(PendingWrite.completionOnly(promise));
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
        lifecycle = Lifecycle.CLOSED;
        sealer.dispatch();
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
            inFlight.completeAfterLast(write);
        }
    }

    /**
     * Fails everything: queued writes, and records not yet written (their writes fail; records still with the
     * sealer are released when they come back). Idempotent.
     */
    @Override
    public void fail(Throwable cause) {
        if (lifecycle == Lifecycle.FAILED) {
            return;
        }
        lifecycle = Lifecycle.FAILED;
        failure = cause;
        failPending(cause);
        inFlight.fail(cause);
        if (closeNotifyPromise != null) {
            closeNotifyPromise.tryFailure(cause);
        }
        budget.close();
        writability.release();
    }

    /** The one way the layer fails on its own account: fails everything, then ends the connection. */
    private void failLayer(Throwable cause) {
        fail(cause);
        listener.recordLayerFailed(cause);
    }

    /** Ends the layer (after {@link #fail}): the sealer drops its keys once its queued records are done. */
    @Override
    public void close() {
        if (lifecycle != Lifecycle.FAILED) {
            fail(new SSLException("record layer closed"));
        }
        RecordSealer s = sealer;
        if (s != null) {
            sealer = null;
            s.close();
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

    /** A framing pass: frames what the cap and the turn allow, then dispatches it to the sealer as one batch. */
    private void frameAvailable() {
        if (framing) {
            return;
        }
        framing = true;
        try {
            while (canAnswer() && inFlight.unacknowledged() < maxRecordsInFlight) {
                if (turns.isUsedUp()) {
                    completeEmptyWrites();
                    if (!flushed.isEmpty() || closeNotifyPromise != null) {
                        turns.scheduleNext();
                        break;
                    }
                }
                if (!recordDue() || !budget.reserveRecord() || !frameNext()) {
                    break;
                }
            }
        } finally {
            framing = false;
            budget.endPass();
        }
        writability.update(inFlight.unacknowledged(), queuedBytes, budget.isWaiting());
        if (sealer != null) {
            sealer.dispatch();
        }
    }

    /** Something may be framed: an answer owed, a flushed write, or a close_notify asked for. */
    private boolean recordDue() {
        return keyUpdateAnswer.isOwed() || noRenegotiationAnswer.isOwed() || !flushed.isEmpty()
                || lifecycle == Lifecycle.CLOSING;
    }

    /** Frames the next record due, in order of precedence; false when none is. */
    private boolean frameNext() {
        if (keyUpdateAnswer.take()) {
            // RFC 8446 section 4.6.3: before our next application data.
            keyUpdateAnswer.framed(frameKeyUpdate(false));
            return true;
        }
        if (noRenegotiationAnswer.take()) {
            if (nextSequence != -1L && !tls12KeyUsedUp()) {
                // At the key's limit (or 2^64 - 1) the only records left to send are final ones (close_notify, a
                // fatal alert): a peer alternating data and HelloRequests gets no more.
                noRenegotiationAnswer.framed(frameAlert(TlsRecords.ALERT_WARNING, TlsRecords.NO_RENEGOTIATION,
                        null));
            }
            return true;
        }
        if (!flushed.isEmpty()) {
            return frameDataRecord();
        }
        if (lifecycle == Lifecycle.CLOSING) {
            frameAlert(TlsRecords.ALERT_WARNING, TlsRecords.CLOSE_NOTIFY, closeNotifyPromise);
            closeNotifyPromise = null;
            lifecycle = Lifecycle.CLOSED;
            return true;
        }
        return false;
    }

    /**
     * Frames one application-data record from the front of {@link #flushed}, a piece of each write in turn until
     * the record is full; false if nothing was framed. A write that fails to give a piece (a chunked input that
     * throws) fails alone.
     */
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
            try {
                long queued = write.queuedBytes();
                RecordPiece piece = write.nextPiece(maxRecordPayloadBytes - payloadLength, ctx.alloc());
                if (piece != null) {
                    queuedBytes -= queued - write.queuedBytes();
                    // In place only when the record is this one piece of a buffer we own outright.
                    inPlace = pieces.isEmpty() && write.sealsInPlace();
                    pieces.add(piece);
                    payloadLength += piece.length();
                }
                if (!write.isFullyFramed()) {
                    if (piece == null) {
                        break; // a chunked input with nothing ready: asked again at the next pass
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
            completed.forEach(inFlight::completeAfterLast);
            return true;
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
     * KeyUpdate at the key's record limit; TLS 1.2 fails the connection at the key's limit or at 2^64 - 1.
     */
    private boolean sequenceAvailable() {
        if (keys.canUpdate() && Long.compareUnsigned(nextSequence, keyUpdateAfterRecords) >= 0
                && frameKeyUpdate(false) == null) {
            return false;
        }
        if (tls12KeyUsedUp()) {
            failLayer(new SSLException("record limit of the write key reached (" + suite.maxRecordsPerKey()
                    + " records, and TLS 1.2 cannot rekey)"));
            return false;
        }
        if (nextSequence == -1L) {
            failLayer(new SSLException("write sequence number exhausted (2^64 - 1 records)"));
            return false;
        }
        return true;
    }

    /** TLS 1.2 cannot rekey: an AES-GCM key ends at its record limit (RFC 8446 section 5.5's, with a margin). */
    private boolean tls12KeyUsedUp() {
        return !suite.isTls13() && suite.maxRecordsPerKey() != Long.MAX_VALUE
                && Long.compareUnsigned(nextSequence, suite.maxRecordsPerKey()) >= 0;
    }

    /**
     * Frames a KeyUpdate carrying the next generation's cipher and returns it; null when that cipher cannot be
     * made: then the layer has failed (no record may follow on a key due for replacement, and an exception must
     * not escape a flush with writes left pending).
     */
    private OutboundRecord frameKeyUpdate(boolean requestPeerUpdate) {
        RecordCipher nextCipher;
        try {
            nextCipher = keys.nextCipher();
        } catch (RuntimeException e) {
            failLayer(new SSLException("KeyUpdate failed: no cipher for the next write keys", e));
            return null;
        }
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
            record.completes.add(PendingWrite.completionOnly(promise));
        }
        submit(record);
        return record;
    }

    /** The budget reserved a record for this connection, which waited for it: framing resumes. */
    private void budgetGranted() {
        if (sealer != null) {
            frameAvailable();
        }
    }

    /** A new turn: frames what the previous turn had to leave, if anything. */
    private void nextTurn() {
        if (sealer != null && (!flushed.isEmpty() || closeNotifyPromise != null)) {
            frameAvailable();
        }
    }

    private void submit(OutboundRecord record) {
        turns.recordFramed();
        inFlight.add(record);
        sealer.submit(record);
    }

    /** The sealer's one way back: the ready prefix is written from there. */
    @Override
    public void recordsSealed(List<OutboundRecord> records) {
        assert ctx.executor().inEventLoop();
        inFlight.sealed(records);
    }

    @Override
    public void sealingFailed(Throwable cause) {
        failLayer(cause);
    }

    /** A record's socket write completed: answers it carried are done, and framing resumes in batches. */
    @Override
    public void written(OutboundRecord record, ChannelFuture future) {
        keyUpdateAnswer.written(record);
        noRenegotiationAnswer.written(record);
        if (!future.isSuccess() && failure == null) {
            fail(future.cause());
            listener.writeFailed(future.cause());
            return;
        }
        int unacknowledged = inFlight.unacknowledged();
        if (unacknowledged > 0 && maxRecordsInFlight - unacknowledged < frameBatchRecords) {
            // Another acknowledgement is due; it frames a batch (writability flips only at half the cap).
            return;
        }
        frameAvailable();
    }
}
