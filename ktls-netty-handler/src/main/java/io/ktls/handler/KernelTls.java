package io.ktls.handler;

/**
 * Whether a connection's outgoing records are sealed by Linux kernel TLS ({@link KtlsConfig.Builder#kernelTls}).
 *
 * <p>With kernel TLS the record layer hands its write keys and next sequence number to the socket at the
 * takeover ({@code setsockopt(TCP_ULP, "tls")}, then {@code SOL_TLS/TLS_TX}); from then on the kernel frames and
 * seals every byte written, and a {@code DefaultFileRegion} on an epoll channel is a real {@code sendfile(2)}:
 * the file's pages are encrypted in the kernel, with no copy into user space. Reading stays in this module's
 * record layer. docs/kernel-tls.md says when it applies and what it does not do.
 */
public enum KernelTls {
    /** Records are always sealed in user space (inline or on the offload group). The default. */
    OFF,
    /**
     * The kernel seals when it accepts the keys; otherwise (not an epoll channel, no {@code tls} module, a suite
     * the kernel lacks) the connection stays on the user-space record layer, and the cause is counted in
     * {@link KtlsMetric#kernelRefusals(KernelTlsRefusal)}.
     */
    AUTO,
    /** As {@link #AUTO}, but a connection the kernel refuses fails its handshake and is closed. */
    REQUIRED
}
