package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** gnutls-cli downloads and uploads every suite x size over the raw stream. */
class GnutlsClientInteropTest extends InteropTestBase {

    private final GnutlsClientPeer gnutls = peer(new GnutlsClientPeer());

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return transfers(gnutls, standardMatrix(ServerUnderTest.SSL_HANDLER));
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return transfers(gnutls, standardMatrix(ServerUnderTest.KTLS_INLINE));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return transfers(gnutls, standardMatrix(ServerUnderTest.KTLS_OFFLOAD));
    }
}
