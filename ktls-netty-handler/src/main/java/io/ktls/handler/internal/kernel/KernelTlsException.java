package io.ktls.handler.internal.kernel;

import io.netty.channel.ChannelException;

/** The kernel refused a TLS socket call; {@link #errno()} says why (0 when no errno was reported). */
public final class KernelTlsException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int errno;

    KernelTlsException(String call, int errno, String detail) {
        super(call + " failed" + (errno != 0 ? " (errno " + errno + ")" : "") + ": " + detail);
        this.errno = errno;
    }

    private KernelTlsException(String call, int errno, ChannelException cause) {
        super(call + " failed" + (errno != 0 ? " (errno " + errno + ")" : "") + ": "
                + (cause.getCause() != null ? cause.getCause().getMessage() : cause.getMessage()), cause);
        this.errno = errno;
    }

    static KernelTlsException of(String call, ChannelException cause) {
        return new KernelTlsException(call, KernelTlsSocket.errno(cause), cause);
    }

    /** The Linux errno of the refusal, e.g. {@link KernelTlsSocket#ENOENT} when there is no {@code tls} module. */
    public int errno() {
        return errno;
    }
}
