package io.ktls.examples.transport;

import io.ktls.examples.tls.ConnectionSecurity;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.NetUtil;

import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Runs a server process from bind to exit: event loops on the chosen transport, one
 * {@code listening on SCHEME://HOST:PORT/} line on stdout once connections are accepted, and a graceful
 * shutdown on SIGTERM or SIGINT (Ctrl-C) that closes the listener, lets the event loops finish, releases
 * the shared TLS resources and exits with status 0.
 *
 * <p>Threads: {@link #run} holds the main thread until shutdown; the signal handler only closes the
 * listening channel (thread-safe), and the main thread does the rest, in order.
 */
public final class ServerLauncher {

    /** How long shutdown waits for quiet event loops, and at most, before closing connections. */
    private static final long QUIET_PERIOD_MILLIS = 100;
    private static final long SHUTDOWN_TIMEOUT_MILLIS = 5_000;
    /**
     * The kernel's ceiling ({@code net.core.somaxconn}, which caps any larger value anyway), as Netty's default:
     * thousands of clients connecting at once must not see their SYNs dropped and retried a second later.
     */
    private static final int ACCEPT_BACKLOG = NetUtil.SOMAXCONN;

    /** As given: {@code auto} or a concrete transport. */
    private final Transport requestedTransport;
    private final Transport transport;
    private final String host;
    private final int port;
    private final ConnectionSecurity security;
    private final ChannelHandler childInitializer;

    public ServerLauncher(Transport transport, String host, int port, ConnectionSecurity security,
                          ChannelHandler childInitializer) {
        this.requestedTransport = transport;
        this.transport = transport.resolve();
        this.host = host;
        this.port = port;
        this.security = security;
        this.childInitializer = childInitializer;
    }

    /** The transport in use, {@code auto} resolved. */
    public Transport transport() {
        return transport;
    }

    /**
     * Binds, announces, serves until a signal arrives, shuts down.
     *
     * @return the process exit status: 0 after a graceful shutdown, 1 when the address cannot be bound
     */
    public int run(PrintStream announce) throws InterruptedException {
        int eventLoops = Runtime.getRuntime().availableProcessors();
        // Accepting on a thread of its own: on a shared event loop, accepts wait behind the handshakes of the
        // connections already taken, so a burst of thousands of clients overflows the accept queue and their
        // SYNs are retried seconds later (past the handshake timeout).
        EventLoopGroup acceptor = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(eventLoops, transport.ioHandlerFactory());
        try {
            ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(acceptor, group)
                    .channel(transport.serverChannelClass())
                    .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
                    .childOption(ChannelOption.ALLOCATOR, security.allocator())
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(childInitializer);
            Channel listener;
            try {
                listener = bootstrap.bind(host, port).sync().channel();
            } catch (Exception e) {
                System.err.println("error: cannot listen on " + host + ':' + port + ": " + e);
                return 1;
            }
            ShutdownSignals.install(listener::close);
            int boundPort = ((InetSocketAddress) listener.localAddress()).getPort();
            System.err.println("transport " + transport
                    + (requestedTransport == Transport.AUTO ? " (chosen by auto)" : "") + ", " + eventLoops + " event loops, "
                    + security.describe());
            announce.println("listening on " + security.mode().scheme() + "://" + hostForUrl(host) + ':'
                    + boundPort + '/');
            announce.flush();
            listener.closeFuture().sync();
            System.err.println("shutting down");
            return 0;
        } finally {
            acceptor.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            group.shutdownGracefully(QUIET_PERIOD_MILLIS, SHUTDOWN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
                    .awaitUninterruptibly();
            security.close();
        }
    }

    static String hostForUrl(String host) {
        try {
            InetAddress address = InetAddress.getByName(host);
            if (address instanceof Inet6Address && host.indexOf(':') >= 0 && !host.startsWith("[")) {
                return '[' + host + ']';
            }
        } catch (java.net.UnknownHostException e) {
            // a name that does not resolve is printed as given; bind reports the real problem
        }
        return host;
    }
}
