package io.ktls.handler;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Seals records on the worker of a {@link KtlsOffloadGroup} that the channel is pinned to: the file read and
 * the encryption leave the event loop, the completion returns to it with {@code execute}.
 *
 * <p>Threads: {@link #submit} and {@link #close} run on the event loop; the {@link RecordSealing} (and so the
 * write cipher) is used only by tasks on the pinned worker, which runs one channel's tasks one at a time and in
 * submission order: the worker's queue is the happens-before edge for the record and the cipher, the event
 * loop's queue the edge back. When the group refuses work (shut down) the record fails on the event loop;
 * when the event loop refuses the completion (shut down) the worker releases the record itself.
 */
final class OffloadRecordSealer implements RecordSealer {

    private final RecordSealing sealing;
    private final Completion completion;
    private final KtlsOffloadGroup group;
    private final Executor worker;
    private final EventLoop eventLoop;

    OffloadRecordSealer(RecordSealing sealing, Completion completion, KtlsOffloadGroup group, Channel channel) {
        this.sealing = sealing;
        this.completion = completion;
        this.group = group;
        this.worker = group.workerFor(channel);
        this.eventLoop = channel.eventLoop();
    }

    @Override
    public void submit(OutboundRecord record) {
        assert eventLoop.inEventLoop();
        try {
            worker.execute(() -> {
                sealing.seal(record);
                complete(record);
            });
        } catch (RejectedExecutionException e) {
            record.failure = e;
            record.releasePlaintext();
            if (record.nextCipher != null) {
                record.nextCipher.close();
            }
            record.state = OutboundRecord.State.FAILED;
            completion.recordSealed(record);
        }
    }

    private void complete(OutboundRecord record) {
        try {
            eventLoop.execute(() -> completion.recordSealed(record));
        } catch (RejectedExecutionException e) {
            // The channel's event loop is gone: nobody will write this record, so it gives back what it holds
            // (buffers may be released from any thread). The promises stay as they are: their listeners would
            // need the dead event loop.
            record.releaseOutput();
            for (PendingWrite write : record.completes) {
                write.abandon();
            }
        }
    }

    @Override
    public void close() {
        try {
            worker.execute(sealing::close);
        } catch (RejectedExecutionException e) {
            // Group shutting down: tasks queued before still run and may use the cipher; its workers are all
            // done once the group terminates.
            group.terminationFuture().addListener(f -> sealing.close());
        }
    }
}
