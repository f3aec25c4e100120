package io.ktls.handler;

/**
 * Seals each record on the event loop as it is submitted: the simplest sealer, and the default. The completion
 * is reported before {@link #submit} returns; the caller copes with that re-entrance by writing the ready
 * prefix only from its outermost call. Event loop only.
 */
final class InlineRecordSealer implements RecordSealer {

    private final RecordEncryptor sealing;
    private final Completion completion;

    InlineRecordSealer(RecordEncryptor sealing, Completion completion) {
        this.sealing = sealing;
        this.completion = completion;
    }

    @Override
    public void submit(OutboundRecord record) {
        sealing.seal(record);
        completion.recordSealed(record);
    }

    @Override
    public void close() {
        sealing.close();
    }
}
