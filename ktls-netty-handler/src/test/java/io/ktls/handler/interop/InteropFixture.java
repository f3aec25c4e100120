package io.ktls.handler.interop;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.X509Bundle;

import java.util.EnumMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Everything a test class shares: the server event loops (epoll when available, as in production), one
 * server per (server under test, certificate, application) started on first use, and the offload group.
 * Created in {@code @BeforeAll} and closed in {@code @AfterAll}; used from the test thread only.
 */
final class InteropFixture implements AutoCloseable, ServerUnderTest.ServerResources {

    /** Two event loops: the machine the suite is budgeted for has two cores, and peers need one too. */
    private static final int SERVER_THREADS = 2;

    /** One worker per core of the two-core machine the suite is budgeted for (the group's default on it). */
    private static final int OFFLOAD_WORKERS = 2;

    private final EventLoopGroup serverGroup;
    private final Class<? extends ServerChannel> serverChannelClass;
    private final Map<CipherCase.CertificateKind, SslContext> serverContexts =
            new EnumMap<>(CipherCase.CertificateKind.class);
    private final Map<String, InteropServer> servers = new HashMap<>();
    private KtlsOffloadGroup offloadGroup;
    private PageRunAllocator pageRunAllocator;

    InteropFixture() throws Exception {
        if (Epoll.isAvailable()) {
            serverGroup = new MultiThreadIoEventLoopGroup(SERVER_THREADS, EpollIoHandler.newFactory());
            serverChannelClass = EpollServerSocketChannel.class;
        } else {
            serverGroup = new MultiThreadIoEventLoopGroup(SERVER_THREADS, NioIoHandler.newFactory());
            serverChannelClass = NioServerSocketChannel.class;
        }
        InteropPki pki = InteropPki.get();
        for (CipherCase.CertificateKind kind : CipherCase.CertificateKind.values()) {
            X509Bundle bundle = pki.server(kind);
            serverContexts.put(kind, SslContextBuilder
                    .forServer(bundle.getKeyPair().getPrivate(), bundle.getCertificatePath())
                    .sslProvider(SslProvider.OPENSSL)
                    .protocols("TLSv1.3", "TLSv1.2")
                    .ciphers(CipherCase.allJavaNames())
                    .build());
        }
    }

    /** The server for this mode and case's certificate, started on first use, its exchange queue cleared. */
    InteropServer server(ServerUnderTest serverUnderTest, CipherCase cipherCase,
                         InteropServer.Application application) throws InterruptedException {
        String key = serverUnderTest.name() + "/" + cipherCase.certificate() + "/" + application;
        InteropServer server = servers.get(key);
        if (server == null) {
            server = new InteropServer(serverGroup, serverChannelClass, serverUnderTest,
                    serverContexts.get(cipherCase.certificate()), cipherCase.certificate() + " certificate",
                    application, this);
            servers.put(key, server);
        }
        server.clearExchanges();
        return server;
    }

    /** Called from the event loops as connections arrive, hence synchronized. */
    @Override
    public synchronized PageRunAllocator pageRunAllocator() {
        if (pageRunAllocator == null) {
            pageRunAllocator = PageRunAllocator.builder().name("interop").build();
        }
        return pageRunAllocator;
    }

    /** The page-run allocator if a server used it, else null. */
    synchronized PageRunAllocator pageRunAllocatorIfUsed() {
        return pageRunAllocator;
    }

    /** Failures raised after completed exchanges, on any server, since the last call. */
    List<String> drainLateFailures() {
        List<String> failures = new ArrayList<>();
        for (InteropServer server : servers.values()) {
            failures.addAll(server.drainLateFailures());
        }
        return failures;
    }

    /** Called from the event loops as connections arrive, hence synchronized. */
    @Override
    public synchronized KtlsOffloadGroup offloadGroup() {
        if (offloadGroup == null) {
            offloadGroup = new KtlsOffloadGroup(OFFLOAD_WORKERS);
        }
        return offloadGroup;
    }

    @Override
    public void close() throws Exception {
        for (InteropServer server : servers.values()) {
            server.close();
        }
        servers.clear();
        synchronized (this) {
            if (offloadGroup != null) {
                offloadGroup.shutdownGracefully().sync();
            }
        }
        serverGroup.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).sync();
        synchronized (this) {
            if (pageRunAllocator != null) {
                pageRunAllocator.close();
            }
        }
        for (SslContext context : serverContexts.values()) {
            io.netty.util.ReferenceCountUtil.release(context);
        }
    }
}
