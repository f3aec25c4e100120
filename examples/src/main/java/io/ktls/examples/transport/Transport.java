package io.ktls.examples.transport;

import io.netty.channel.Channel;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;

/**
 * The socket transport behind the event loops: {@code --transport auto|nio|epoll|io_uring}. {@link #AUTO}
 * takes epoll, then io_uring, then NIO, the first this kernel and platform offer; containers often forbid
 * io_uring, so availability is probed, not assumed.
 *
 * <p>Why epoll before io_uring: file bodies are {@code FileRegion}s, which epoll sends with
 * {@code sendfile(2)}; streaming a file from tmpfs without TLS, io_uring's path cost more server CPU per GB
 * than epoll's and gave less throughput (docs/configuration.md has the figures).
 */
public enum Transport {
    AUTO("auto"),
    NIO("nio"),
    EPOLL("epoll"),
    IO_URING("io_uring");

    /** What {@link #AUTO} tries, in order (see the class comment for why epoll comes first). */
    private static final Transport[] AUTO_PREFERENCE = {EPOLL, IO_URING, NIO};

    private final String optionName;

    Transport(String optionName) {
        this.optionName = optionName;
    }

    /** The concrete transport to use: {@link #AUTO} resolved, the others checked for availability. */
    public Transport resolve() {
        switch (this) {
            case AUTO:
                for (Transport candidate : AUTO_PREFERENCE) {
                    if (candidate.isAvailable()) {
                        return candidate;
                    }
                }
                throw new AssertionError("NIO is always available");
            default:
                if (!isAvailable()) {
                    throw new IllegalStateException("transport " + this + " is not available here: "
                            + unavailabilityCause());
                }
                return this;
        }
    }

    public boolean isAvailable() {
        switch (this) {
            case NIO: return true;
            case EPOLL: return Epoll.isAvailable();
            case IO_URING: return IoUring.isAvailable();
            default: return true;
        }
    }

    private String unavailabilityCause() {
        Throwable cause = this == EPOLL ? Epoll.unavailabilityCause()
                : this == IO_URING ? IoUring.unavailabilityCause() : null;
        return cause == null ? "unknown" : String.valueOf(cause);
    }

    public IoHandlerFactory ioHandlerFactory() {
        switch (concrete()) {
            case EPOLL: return EpollIoHandler.newFactory();
            case IO_URING: return IoUringIoHandler.newFactory();
            default: return NioIoHandler.newFactory();
        }
    }

    public Class<? extends ServerChannel> serverChannelClass() {
        switch (concrete()) {
            case EPOLL: return EpollServerSocketChannel.class;
            case IO_URING: return IoUringServerSocketChannel.class;
            default: return NioServerSocketChannel.class;
        }
    }

    public Class<? extends Channel> socketChannelClass() {
        switch (concrete()) {
            case EPOLL: return EpollSocketChannel.class;
            case IO_URING: return IoUringSocketChannel.class;
            default: return NioSocketChannel.class;
        }
    }

    private Transport concrete() {
        if (this == AUTO) {
            throw new IllegalStateException("resolve() the transport first");
        }
        return this;
    }

    @Override
    public String toString() {
        return optionName;
    }
}
