package io.ktls.handler;

/**
 * Seals framed records, now or later, here or on another thread. The event loop frames each record (its
 * sequence number, hence its nonce, is fixed at that point) and {@linkplain #submit submits} it; the sealer
 * completes it by calling {@link Completion#recordSealed} <em>on the channel's event loop</em>, in any order.
 * Only the contiguous prefix of completed records is written, so completion order never reorders the stream.
 *
 * <p>Implementations: {@link InlineRecordSealer} (on the event loop, the default) and
 * {@link OffloadRecordSealer} (on the connection's worker of a {@link KtlsOffloadGroup}).
 */
interface RecordSealer {

    /** Receives completed records; called on the channel's event loop only. */
    interface Completion {
        void recordSealed(OutboundRecord record);

        /** Several records at once, reported in the order they were sealed; written with one flush. */
        default void recordsSealed(java.util.List<OutboundRecord> records) {
            for (OutboundRecord record : records) {
                recordSealed(record);
            }
        }
    }

    /**
     * Seals {@code record} (its state becomes SEALED with an output, or FAILED with a cause) and then reports it
     * to the completion, exactly once, on the event loop. Called on the event loop.
     */
    void submit(OutboundRecord record);

    /**
     * The records submitted since the last call may start now: a sealer that hands records to another thread
     * sends them as one batch. Called on the event loop after each framing pass.
     */
    default void dispatch() {
    }

    /**
     * No more records will be submitted: release the write keys once the records already submitted are done.
     * Records still queued are completed (sealed or failed) as usual. Called on the event loop.
     */
    void close();
}
