package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** curl downloads and uploads every suite x size over HTTP/1.1. */
class CurlInteropTest extends InteropTestBase {

    private final CurlPeer curl = peer(new CurlPeer());

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return transfers(curl, standardMatrix(ServerUnderTest.SSL_HANDLER));
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return transfers(curl, standardMatrix(ServerUnderTest.KTLS_INLINE));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return transfers(curl, standardMatrix(ServerUnderTest.KTLS_OFFLOAD));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffloadPageRuns() {
        return transfers(curl, standardMatrix(ServerUnderTest.KTLS_OFFLOAD_PAGE_RUNS));
    }
}
