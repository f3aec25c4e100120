package io.ktls.handler;

import io.netty.channel.Channel;

import java.util.Collections;
import java.util.List;

/**
 * Seals the records of one connection's write direction, here or on another thread. The event loop frames each
 * record (its sequence number, hence its nonce, is fixed at that point) and {@linkplain #submit submits} it; after
 * each framing pass it {@linkplain #dispatch dispatches} what it submitted; the sealer seals those records in
 * submission order and reports them, in batches, to {@link Completion#recordsSealed} <em>on the channel's event
 * loop</em>, never from inside {@link #submit}. Every sealer completes through that one route, so the outbound
 * layer writes its ready prefix from one place. Only the contiguous prefix of completed records is written, so
 * the order in which records complete never reorders the stream.
 *
 * <p>Implementations: {@link InlineRecordSealer} (on the event loop, the default) and
 * {@link OffloadRecordSealer} (on the connection's worker of a {@link KtlsOffloadGroup}); made by a
 * {@link Factory}, which the configuration chooses.
 */
interface RecordSealer {

    /** Makes the sealer of one connection; the outbound layer calls it once, with itself as the completion. */
    @FunctionalInterface
    interface Factory {
        RecordSealer create(RecordEncryptor encryptor, Completion completion, Channel channel);
    }

    /** Receives completed records; called on the channel's event loop only. */
    interface Completion {
        /** Records sealed (or failed), reported in the order they were sealed; written with one flush. */
        void recordsSealed(List<OutboundRecord> records);

        /** One record: the same route. */
        default void recordSealed(OutboundRecord record) {
            recordsSealed(Collections.singletonList(record));
        }
    }

    /** Takes {@code record} for the next dispatch. Called on the event loop. */
    void submit(OutboundRecord record);

    /**
     * The records submitted since the last call may be sealed now: each ends SEALED (with an output) or FAILED
     * (with a cause) and is reported to the completion exactly once, on the event loop. Called on the event loop
     * after each framing pass.
     */
    void dispatch();

    /**
     * No more records will be submitted: the records already submitted are dispatched and completed as usual,
     * then the write keys are released. Called on the event loop.
     */
    void close();

    /** True when sealing leaves the event loop (counted apart in the metrics). */
    default boolean isOffloaded() {
        return false;
    }
}
