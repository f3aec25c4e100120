package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** openssl s_client downloads and uploads every suite x size over the raw stream. */
class OpenSslClientInteropTest extends InteropTestBase {

    private final OpenSslClientPeer openSslClient = peer(new OpenSslClientPeer());

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return transfers(openSslClient, standardMatrix(ServerUnderTest.SSL_HANDLER));
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return transfers(openSslClient, standardMatrix(ServerUnderTest.KTLS_INLINE));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return transfers(openSslClient, standardMatrix(ServerUnderTest.KTLS_OFFLOAD));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffloadPageRuns() {
        return transfers(openSslClient, standardMatrix(ServerUnderTest.KTLS_OFFLOAD_PAGE_RUNS));
    }
}
