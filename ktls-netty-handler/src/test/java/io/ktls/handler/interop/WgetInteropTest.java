package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

/**
 * wget (GnuTLS) downloads over HTTP/1.1: a representative subset, since curl and gnutls-cli already cover
 * both of wget's libraries for every size. Every suite, with 1 byte (a single short record), 16385 bytes
 * (a full record and a one-byte one) and 1 MiB + 7 (many full records and a tail). wget cannot upload.
 */
class WgetInteropTest extends InteropTestBase {

    private static final List<Long> SIZES = List.of(1L, 16385L, (1L << 20) + 7);

    private final WgetPeer wget = peer(new WgetPeer());

    private static List<TransferCase> subset(ServerUnderTest server) {
        return TransferCase.matrix(server, List.of(CipherCase.values()),
                List.of(TransferCase.Direction.DOWNLOAD), SIZES);
    }

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return transfers(wget, subset(ServerUnderTest.SSL_HANDLER));
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return transfers(wget, subset(ServerUnderTest.KTLS_INLINE));
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return transfers(wget, subset(ServerUnderTest.KTLS_OFFLOAD));
    }
}
