package io.ktls.handler.internal.kernel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.RawUnixChannelOption;
import io.netty.channel.unix.UnixChannel;

import java.nio.ByteBuffer;

/**
 * The kernel TLS controls of one epoll socket channel, set through Netty's {@link RawUnixChannelOption} (no native
 * code of ours): attach the {@code tls} upper-layer protocol ({@code setsockopt(SOL_TCP, TCP_ULP, "tls")}),
 * install the transmit keys ({@code setsockopt(SOL_TLS, TLS_TX, crypto_info)}) and read back the kernel's next
 * transmit sequence number ({@code getsockopt(SOL_TLS, TLS_TX)}). Documentation/networking/tls.rst in the kernel
 * describes the calls.
 *
 * <p>Event loop only: socket options of a channel are set on its event loop, between writes.
 */
public final class KernelTlsSocket {

    /** {@code SOL_TCP} ({@code IPPROTO_TCP}) and {@code TCP_ULP} of {@code include/uapi/linux/tcp.h}. */
    static final int SOL_TCP = 6;
    static final int TCP_ULP = 31;
    /** {@code SOL_TLS} and {@code TLS_TX} of {@code include/linux/socket.h}, {@code include/uapi/linux/tls.h}. */
    static final int SOL_TLS = 282;
    static final int TLS_TX = 1;
    /** The Linux errno values this class tells apart. */
    public static final int ENOENT = 2;
    public static final int EINVAL = 22;
    public static final int ENOPROTOOPT = 92;
    public static final int EOPNOTSUPP = 95;
    public static final int EEXIST = 17;
    public static final int EBUSY = 16;

    /** The ULP name, without its NUL: the kernel copies at most {@code optlen} bytes and terminates it. */
    private static final ByteBuffer TLS_ULP =
            ByteBuffer.allocateDirect(3).put(new byte[] {'t', 'l', 's'}).flip().asReadOnlyBuffer();
    private static final RawUnixChannelOption TCP_ULP_OPTION =
            new RawUnixChannelOption("TCP_ULP", SOL_TCP, TCP_ULP, TLS_ULP.remaining());
    private static final String EPOLL_STREAM_CHANNEL = "io.netty.channel.epoll.AbstractEpollStreamChannel";

    private final Channel channel;

    private KernelTlsSocket(Channel channel) {
        this.channel = channel;
    }

    /**
     * The controls of {@code channel}, or {@code null} when it is not an epoll stream channel: only there is a
     * {@code DefaultFileRegion} written with {@code sendfile(2)} and a write a plain {@code write(2)}, which is what
     * the kernel's record layer seals. (io_uring and NIO are left out on purpose; see docs/kernel-tls.md.)
     */
    public static KernelTlsSocket of(Channel channel) {
        if (!(channel instanceof UnixChannel)) {
            return null;
        }
        for (Class<?> type = channel.getClass(); type != null; type = type.getSuperclass()) {
            if (EPOLL_STREAM_CHANNEL.equals(type.getName())) {
                return new KernelTlsSocket(channel);
            }
        }
        return null;
    }

    /** The socket's file descriptor, for calls Netty does not make ({@code sendmsg} with a control message). */
    public int fd() {
        return ((UnixChannel) channel).fd().intValue();
    }

    /** {@code setsockopt(SOL_TCP, TCP_ULP, "tls")}; throws with the errno when the kernel refuses. */
    public void attachTlsProtocol() throws KernelTlsException {
        // One read-only direct copy for every connection: the kernel only reads it, and each call gets its own view.
        set(TCP_ULP_OPTION, TLS_ULP.duplicate(), "TCP_ULP tls");
    }

    /**
     * {@code setsockopt(SOL_TLS, TLS_TX, cryptoInfo)}: from now on every byte written is sealed by the kernel,
     * starting at the sequence number in {@code cryptoInfo}. The caller zeroes {@code cryptoInfo} afterwards.
     */
    public void installTransmitKeys(ByteBuffer cryptoInfo) throws KernelTlsException {
        set(new RawUnixChannelOption("TLS_TX", SOL_TLS, TLS_TX, cryptoInfo.remaining()), cryptoInfo, "TLS_TX");
    }

    /**
     * {@code getsockopt(SOL_TLS, TLS_TX)}: the installed structure of {@code length} bytes, whose last 8 are the
     * kernel's next sequence number. It holds the key: the caller reads the sequence and zeroes it.
     */
    public ByteBuffer transmitState(int length) throws KernelTlsException {
        try {
            ByteBuffer state = channel.config().getOption(new RawUnixChannelOption("TLS_TX", SOL_TLS, TLS_TX, length));
            if (state == null) {
                throw new KernelTlsException("TLS_TX", 0, "the transport does not read raw socket options");
            }
            return state;
        } catch (ChannelException e) {
            throw KernelTlsException.of("getsockopt TLS_TX", e);
        }
    }

    private void set(RawUnixChannelOption option, ByteBuffer value, String what) throws KernelTlsException {
        boolean set;
        try {
            set = channel.config().setOption(option, value);
        } catch (ChannelException e) {
            throw KernelTlsException.of("setsockopt " + what, e);
        }
        if (!set) {
            throw new KernelTlsException(what, 0, "the transport does not set raw socket options");
        }
    }

    /**
     * The errno of a failed socket call; 0 when it cannot be told. Netty's native socket options throw a plain
     * {@code IOException} whose message ends with {@code strerror(errno)} (glibc's text, which does not follow the
     * locale here), so the errno values this class tells apart are recognised by that text when no
     * {@link Errors.NativeIoException} carries the number.
     */
    static int errno(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof Errors.NativeIoException) {
                return Math.abs(((Errors.NativeIoException) t).expectedErr());
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            int errno = errnoOfStrerror(t.getMessage());
            if (errno != 0) {
                return errno;
            }
        }
        return 0;
    }

    /** The errno whose glibc {@code strerror} text ends {@code message}, among those a TLS socket option gives. */
    private static int errnoOfStrerror(String message) {
        if (message == null) {
            return 0;
        }
        if (message.endsWith("No such file or directory")) {
            return ENOENT;
        }
        if (message.endsWith("Invalid argument")) {
            return EINVAL;
        }
        if (message.endsWith("Protocol not available")) {
            return ENOPROTOOPT;
        }
        if (message.endsWith("Operation not supported")) {
            return EOPNOTSUPP;
        }
        if (message.endsWith("File exists")) {
            return EEXIST;
        }
        if (message.endsWith("Device or resource busy")) {
            return EBUSY;
        }
        return 0;
    }
}
