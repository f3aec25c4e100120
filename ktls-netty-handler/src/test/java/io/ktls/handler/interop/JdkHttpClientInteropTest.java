package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** The JDK's HttpClient downloads and uploads every suite x size over HTTP/1.1. */
class JdkHttpClientInteropTest extends InteropTestBase {

    private final JdkHttpClientPeer httpClient = peer(new JdkHttpClientPeer());

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return transfers(httpClient, standardMatrix(ServerUnderTest.SSL_HANDLER));
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return transfers(httpClient, standardMatrix(ServerUnderTest.KTLS_INLINE));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return transfers(httpClient, standardMatrix(ServerUnderTest.KTLS_OFFLOAD));
    }
}
