package io.ktls.handler;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Seals records on the worker of a {@link KtlsOffloadGroup} that the channel is pinned to: the file read and
 * the encryption leave the event loop, the completion returns to it with {@code execute}.
 *
 * <h2>Batches</h2>
 * A hand-off costs a queue operation and often a wake-up on each side, a fair part of sealing one 16 KiB record.
 * So both directions travel in batches:
 * <ol>
 *   <li>{@link #submit} collects the records framed by one framing pass; {@link #dispatch()} hands them to the
 *       worker as one task;</li>
 *   <li>the worker seals the whole batch as one run (the files it copied from are checked once, after its last
 *       copy), then adds it to {@link #sealed}; only the batch that finds no drain
 *       scheduled ({@link #drainScheduled} false to true) schedules one on the event loop, through the worker's
 *       {@linkplain KtlsOffloadGroup.Worker#handBackWhenIdle hand-back} so that the batches of other connections
 *       sealed in the same burst wake their event loop once. Handing back per record would wake the event loop
 *       once a record: it writes a record faster than the worker seals the next, so it is asleep again each
 *       time;</li>
 *   <li>the drain clears {@link #drainScheduled} <em>before</em> taking batches, so a batch added after that is
 *       either taken by this drain or schedules the next one (never stranded), and reports everything it took
 *       as one batch, written with one flush.</li>
 * </ol>
 *
 * <h2>Small batches stay</h2>
 * A pass that frames fewer than {@code minBatchBytes} of plaintext (a small response, an alert) costs more to hand
 * off and back than to seal: the event loop seals it itself, as {@link InlineRecordSealer} does, but only while
 * no batch of this connection is at the worker ({@link #batchesAtWorker} zero). The encryptor is then not in the
 * worker's hands: every batch it sealed has come back through {@link #sealed}, whose hand-over orders its use of
 * the encryptor before ours, and the next batch to go reaches it through the worker's queue, after ours. For the
 * same reason {@link #close} releases the keys on the event loop when no batch is out.
 *
 * <p>Threads: {@link #submit}, {@link #dispatch} and {@link #close} run on the event loop; the
 * {@link RecordEncryptor} (and so the write cipher) is used by tasks on the pinned worker, which runs one
 * channel's tasks one at a time and in submission order: the worker's queue is the happens-before edge for the
 * records and the cipher, {@link #sealed} and the event loop's queue the edge back (and by the event loop
 * itself between two such round trips, above). When the group refuses work
 * (shut down) the batch fails on the event loop; when the event loop refuses the drain (shut down) the worker
 * releases the records itself.
 */
final class OffloadRecordSealer implements RecordSealer {

    private final RecordEncryptor encryptor;
    private final Completion completion;
    private final KtlsOffloadGroup group;
    private final KtlsOffloadGroup.Worker worker;
    private final EventLoop eventLoop;
    private final int minBatchBytes;
    /** Event loop only: records submitted since the last dispatch. */
    private List<OutboundRecord> batch = new ArrayList<>();
    /** Event loop only: plaintext bytes of {@link #batch}. */
    private long batchBytes;
    /** Event loop only: batches handed to the worker and not yet taken back by a drain. */
    private int batchesAtWorker;
    /** Sealed batches: added by the worker, drained by the event loop. */
    private final Queue<List<OutboundRecord>> sealed = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drain = this::drain;
    private final Runnable scheduleDrain = this::scheduleDrain;
    private final KtlsStats stats;

    OffloadRecordSealer(RecordEncryptor encryptor, Completion completion, KtlsOffloadGroup group, Channel channel,
                        int minBatchBytes) {
        this.encryptor = encryptor;
        this.minBatchBytes = minBatchBytes;
        this.completion = completion;
        this.group = group;
        this.worker = group.pinnedWorker(channel);
        this.eventLoop = channel.eventLoop();
        this.stats = encryptor.stats();
    }

    @Override
    public void submit(OutboundRecord record) {
        assert eventLoop.inEventLoop();
        batch.add(record);
        batchBytes += record.payloadLength;
    }

    @Override
    public void dispatch() {
        assert eventLoop.inEventLoop();
        if (batch.isEmpty()) {
            return;
        }
        // Swapped before sealing here: the completion may frame, submit and dispatch a new pass meanwhile.
        List<OutboundRecord> records = batch;
        long bytes = batchBytes;
        batch = new ArrayList<>();
        batchBytes = 0;
        if (batchesAtWorker == 0 && bytes < minBatchBytes) {
            encryptor.seal(records);
            stats.offloadBatchKeptInline();
            completion.recordsSealed(records);
            return;
        }
        batchesAtWorker++;
        try {
            worker.execute(() -> sealAll(records));
        } catch (RejectedExecutionException e) {
            batchesAtWorker--;
            for (OutboundRecord record : records) {
                record.sealFailed(e);
            }
            completion.recordsSealed(records);
        }
    }

    private void sealAll(List<OutboundRecord> records) {
        encryptor.seal(records);
        // One hand-back per batch, not per record: each record handed back alone would find the event loop
        // asleep again (it writes one record in far less time than we seal the next) and wake it each time.
        sealed.add(records);
        if (drainScheduled.compareAndSet(false, true)) {
            worker.handBackWhenIdle(scheduleDrain);
        }
    }

    private void scheduleDrain() {
        try {
            eventLoop.execute(drain);
        } catch (RejectedExecutionException e) {
            abandonSealed();
            drainScheduled.set(false);
        }
    }

    private void drain() {
        drainScheduled.set(false);
        List<OutboundRecord> done = sealed.poll();
        if (done == null) {
            return;
        }
        batchesAtWorker--;
        List<OutboundRecord> more = sealed.poll();
        if (more != null) {
            // Several batches sealed while this drain waited: reported as one, so written with one flush.
            done = new ArrayList<>(done);
            do {
                batchesAtWorker--;
                done.addAll(more);
            } while ((more = sealed.poll()) != null);
        }
        completion.recordsSealed(done);
    }

    /**
     * The channel's event loop is gone: nobody will write these records, so the worker gives back what they hold
     * (buffers may be released from any thread). The promises stay as they are: their listeners would need the
     * dead event loop.
     */
    private void abandonSealed() {
        List<OutboundRecord> records;
        while ((records = sealed.poll()) != null) {
            for (OutboundRecord record : records) {
                record.releaseOutput();
                for (PendingWrite write : record.completes) {
                    write.abandon();
                }
                // The event loop would have counted the completion when writing the record; it never will.
                stats.recordCompleted();
            }
        }
    }

    @Override
    public boolean isOffloaded() {
        return true;
    }

    @Override
    public void close() {
        dispatch();
        if (batchesAtWorker == 0) {
            // Nothing of ours at the worker: the event loop holds the encryptor (see "Small batches stay"), and
            // closing it here spares a short connection a task and a wake-up on the worker.
            encryptor.close();
            return;
        }
        try {
            worker.execute(encryptor::close);
        } catch (RejectedExecutionException e) {
            // Group shutting down: tasks queued before still run and may use the cipher; its workers are all
            // done once the group terminates.
            group.terminationFuture().addListener(f -> encryptor.close());
        }
    }
}
