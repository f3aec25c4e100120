package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/**
 * gnutls-cli downloads and uploads every suite x size over the raw stream. Downloads come from buffers only:
 * it is the slowest peer to start, and the other peers cover file downloads with both TLS libraries.
 */
class GnutlsClientInteropTest extends InteropTestBase {

    private static final TransferCase.Direction[] BYTES_AND_UPLOAD = {
            TransferCase.Direction.DOWNLOAD, TransferCase.Direction.UPLOAD};

    private final GnutlsClientPeer gnutls = peer(new GnutlsClientPeer());

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return transfers(gnutls, standardMatrix(ServerUnderTest.SSL_HANDLER, BYTES_AND_UPLOAD));
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return transfers(gnutls, standardMatrix(ServerUnderTest.KTLS_INLINE, BYTES_AND_UPLOAD));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return transfers(gnutls, standardMatrix(ServerUnderTest.KTLS_OFFLOAD, BYTES_AND_UPLOAD));
    }
}
