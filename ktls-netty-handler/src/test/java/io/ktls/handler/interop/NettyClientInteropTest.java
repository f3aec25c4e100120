package io.ktls.handler.interop;

import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/**
 * Netty's SslHandler as the client, with the OpenSSL and the JDK providers, downloads and uploads every
 * suite x size over the raw stream, and must receive the server's close_notify each time.
 */
class NettyClientInteropTest extends InteropTestBase {

    private final NettyClientPeer openSsl = peer(new NettyClientPeer(SslProvider.OPENSSL));
    private final NettyClientPeer jdk = peer(new NettyClientPeer(SslProvider.JDK));

    private Stream<DynamicTest> bothProviders(ServerUnderTest server) {
        return Stream.concat(transfers(openSsl, standardMatrix(server)), transfers(jdk, standardMatrix(server)));
    }

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return bothProviders(ServerUnderTest.SSL_HANDLER);
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return bothProviders(ServerUnderTest.KTLS_INLINE);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return bothProviders(ServerUnderTest.KTLS_OFFLOAD);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffloadPageRuns() {
        return bothProviders(ServerUnderTest.KTLS_OFFLOAD_PAGE_RUNS);
    }
}
