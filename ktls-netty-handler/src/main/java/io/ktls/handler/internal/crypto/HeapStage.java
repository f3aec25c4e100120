package io.ktls.handler.internal.crypto;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * Per-thread heap arrays through which records in direct memory are sealed and opened.
 *
 * <p>Why: the providers are fastest on {@code byte[]}: the Amazon Corretto provider has no direct-buffer path and
 * copies in chunks, and SunJCE's direct AES-GCM path is slow on JDK 25. Two copies of a record cost far less than
 * what staging saves (figures: docs/benchmarks.md, "Figures behind design choices", and docs/crypto.md), and the
 * staged record is sealed with one {@code doFinal} (payload and TLS 1.3 inner type side by side), where separate
 * buffers need an {@code update} and a {@code doFinal}.
 *
 * <p>Sizes: the largest TLS 1.3 ciphertext (2^14 + 256) and a margin for the tag. Two arrays, input and
 * output, so that no provider has to handle overlapping arrays. About 33 KiB per thread that seals or opens
 * records from direct memory (the event loops, the offload workers), instead of per connection.
 *
 * <p>Threads: each thread has its own stage; a stage is used within one call and holds nothing between calls
 * that anyone reads (it may retain the last record's bytes, like any pooled buffer).
 */
final class HeapStage {

    /** 2^14 + 256 (TLS 1.3 ciphertext limit) + 2 * 16 (tag and slack). */
    static final int CAPACITY = RecordCipher.MAX_PAYLOAD_LENGTH + 256 + 32;

    private static final FastThreadLocal<HeapStage> STAGES = new FastThreadLocal<HeapStage>() {
        @Override
        protected HeapStage initialValue() {
            return new HeapStage();
        }
    };

    final byte[] in = new byte[CAPACITY];
    final byte[] out = new byte[CAPACITY];

    private HeapStage() {
    }

    static HeapStage current() {
        return STAGES.get();
    }
}
