package io.ktls.handler;

import java.util.ArrayList;
import java.util.List;

/**
 * Seals on the event loop, the default: a framing pass's records are sealed when it dispatches them, and reported
 * as one batch before {@link #dispatch()} returns. Sealing after the pass rather than record by record inside it
 * keeps completion out of {@link #submit} (no re-entrance into the layer that is framing) and makes inline and
 * offloaded sealing report alike. Event loop only.
 */
final class InlineRecordSealer implements RecordSealer {

    private final RecordEncryptor encryptor;
    private final Completion completion;
    private List<OutboundRecord> batch = new ArrayList<>();

    InlineRecordSealer(RecordEncryptor encryptor, Completion completion) {
        this.encryptor = encryptor;
        this.completion = completion;
    }

    @Override
    public void submit(OutboundRecord record) {
        batch.add(record);
    }

    @Override
    public void dispatch() {
        if (batch.isEmpty()) {
            return;
        }
        // Swapped before reporting: the completion may frame, submit and dispatch a new pass meanwhile.
        List<OutboundRecord> records = batch;
        batch = new ArrayList<>();
        encryptor.seal(records);
        completion.recordsSealed(records);
    }

    @Override
    public void close() {
        dispatch();
        encryptor.close();
    }
}
