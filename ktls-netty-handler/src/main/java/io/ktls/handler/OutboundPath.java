package io.ktls.handler;

import io.netty.channel.ChannelPromise;

/**
 * The write side of a connection after the takeover, as {@link KtlsHandler} drives it: records sealed in user space
 * ({@link OutboundRecordLayer}) or by Linux kernel TLS ({@link KernelOutbound}). Chosen once per connection at the
 * takeover; event loop only.
 */
interface OutboundPath {

    /** Takes ownership of {@code msg}: queued, or released with {@code promise} failed. */
    void write(Object msg, ChannelPromise promise);

    void flush();

    /** close_notify after everything written so far; {@code promise} completes when it has gone (or cannot go). */
    void closeOutbound(ChannelPromise promise);

    /** Answers the peer's KeyUpdate(update_requested). */
    void keyUpdate(boolean requestPeerUpdate);

    /** A warning alert in sequence with the data (no_renegotiation). */
    void warningAlert(byte description);

    /** A fatal alert after what is already written, then nothing more; {@code promise} completes once it is out. */
    void fatalAlert(byte description, Throwable cause, ChannelPromise promise);

    /** Fails everything not written yet; idempotent. */
    void fail(Throwable cause);

    /** Ends the path (after {@link #fail}) and frees what it holds. */
    void close();

    /** True when records are sealed on an offload worker. */
    boolean isOffloaded();

    /** The sequence number of the next record, -1 when it cannot be told. */
    long nextSequence();

    /** Records framed and not yet written (0 when the kernel frames them). */
    int unacknowledgedRecords();
}
