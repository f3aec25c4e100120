package io.ktls.handler.interop;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One listening socket with the server under test at the head of every accepted pipeline, followed by
 * one of the two test applications. Each request served is reported as an {@link Exchange} on a queue the
 * test thread reads; tests run one at a time, so the exchanges after {@link #clearExchanges()} are theirs.
 */
final class InteropServer implements AutoCloseable {

    /** The application behind the TLS handler. */
    enum Application {
        /** {@link HttpExchangeHandler}, for curl, wget and the JDK's HttpClient. */
        HTTP,
        /** {@link RawExchangeHandler}, for s_client, gnutls-cli and Netty's SslHandler client. */
        RAW
    }

    private final Channel serverChannel;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final BlockingQueue<Exchange> exchanges = new LinkedBlockingQueue<>();
    private final BlockingQueue<Exchange> lateFailures = new LinkedBlockingQueue<>();
    private final String description;

    InteropServer(EventLoopGroup group, Class<? extends ServerChannel> channelClass,
                  ServerUnderTest serverUnderTest, SslContext sslContext, String sslContextLabel,
                  Application application,
                  ServerUnderTest.ServerResources resources) throws InterruptedException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelClass);
        if (serverUnderTest.usesPageRunAllocator()) {
            bootstrap.childOption(ChannelOption.ALLOCATOR, resources.pageRunAllocator());
        }
        bootstrap
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        ChannelPipeline p = ch.pipeline();
                        p.addLast("tls", serverUnderTest.newTlsHandler(sslContext, ch, resources));
                        if (application == Application.HTTP) {
                            p.addLast(new HttpServerCodec());
                            p.addLast(new HttpServerExpectContinueHandler());
                            p.addLast(new ChunkedWriteHandler());
                            p.addLast(new HttpExchangeHandler(serverUnderTest, exchanges::add));
                        } else {
                            p.addLast(new ChunkedWriteHandler());
                            p.addLast(new RawExchangeHandler(serverUnderTest, exchanges::add, lateFailures::add));
                        }
                    }
                });
        description = serverUnderTest + " with " + sslContextLabel + ", " + application;
        serverChannel = bootstrap.bind(new InetSocketAddress(loopback(), 0)).sync().channel();
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByName(InteropPki.HOST);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    void clearExchanges() {
        exchanges.clear();
    }

    /** The next exchange the server reports, failing the test if none arrives in time. */
    Exchange takeExchange(Duration timeout) throws InterruptedException {
        Exchange exchange = exchanges.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (exchange == null) {
            throw new AssertionError("the server reported no exchange within " + timeout);
        }
        return exchange;
    }

    /**
     * Failures a connection raised after its exchange was reported (raw application only; an HTTP
     * connection's failures between requests are a keep-alive peer leaving), described with this server.
     */
    List<String> drainLateFailures() {
        List<String> failures = new ArrayList<>();
        for (Exchange failure; (failure = lateFailures.poll()) != null; ) {
            StringWriter trace = new StringWriter();
            failure.failure().printStackTrace(new PrintWriter(trace));
            failures.add(description + ", after " + failure.request() + ": " + trace);
        }
        return failures;
    }

    /** The next exchange, or null if none arrives in time (for diagnostics after a failure). */
    Exchange pollExchange(Duration timeout) throws InterruptedException {
        return exchanges.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        serverChannel.close().sync();
        children.close().await(10, TimeUnit.SECONDS);
    }
}
