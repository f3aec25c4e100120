package io.ktls.handler;

/**
 * Why a connection that asked for {@link KernelTls} stays on the user-space record layer, as counted by
 * {@link KtlsMetric#kernelRefusals(KernelTlsRefusal)}.
 */
public enum KernelTlsRefusal {
    /** The channel is not an epoll socket channel (NIO, io_uring, local, embedded): no socket to configure. */
    TRANSPORT,
    /** The kernel has no {@code tls} upper-layer protocol: module absent or not loadable ({@code ENOENT}). */
    NO_TLS_MODULE,
    /** The kernel took the {@code tls} protocol but refused these keys: a version or suite it does not know. */
    SUITE,
    /** The handshake's last records were still queued in the channel when the keys were due. */
    PENDING_WRITES,
    /** Any other error from the socket (its errno is in the fallback event and the JFR event). */
    ERROR
}
