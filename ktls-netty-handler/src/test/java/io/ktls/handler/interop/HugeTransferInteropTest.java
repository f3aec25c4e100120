package io.ktls.handler.interop;

import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * 100 MiB each way for every suite, through one external and one in-process peer: curl over HTTP/1.1 (also
 * downloading from a file, a FileRegion through the record layer), and
 * Netty's SslHandler client over the raw stream (OpenSSL provider; the JDK provider for the two TLS 1.3
 * suites a BoringSSL client cannot be restricted to). Long enough for many writability flips and, in
 * offload mode, many records in flight at once. The SslHandler baseline runs the standard sizes only (in the
 * other classes): here it would add a third of this class's time, about a minute on two busy cores.
 */
class HugeTransferInteropTest extends InteropTestBase {

    private final CurlPeer curl = peer(new CurlPeer());
    private final NettyClientPeer openSsl = peer(new NettyClientPeer(SslProvider.OPENSSL));
    private final NettyClientPeer jdk = peer(new NettyClientPeer(SslProvider.JDK));

    private static final List<TransferCase.Direction> BYTES_AND_UPLOAD = List.of(
            TransferCase.Direction.DOWNLOAD, TransferCase.Direction.UPLOAD);

    private static List<TransferCase> huge(ServerUnderTest server, List<CipherCase> ciphers,
                                           List<TransferCase.Direction> directions) {
        return TransferCase.matrix(server, ciphers, directions, List.of(Payload.HUGE_SIZE));
    }

    private Stream<DynamicTest> hugeTransfers(ServerUnderTest server) {
        List<CipherCase> all = List.of(CipherCase.values());
        List<CipherCase> notForBoringSsl = Arrays.stream(CipherCase.values())
                .filter(cipher -> !openSsl.supports(cipher)).toList();
        return Stream.of(
                transfers(curl, huge(server, all, List.of(TransferCase.Direction.values()))),
                transfers(openSsl, huge(server, all, BYTES_AND_UPLOAD)),
                transfers(jdk, huge(server, notForBoringSsl, BYTES_AND_UPLOAD))).flatMap(s -> s);
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return hugeTransfers(ServerUnderTest.KTLS_INLINE);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return hugeTransfers(ServerUnderTest.KTLS_OFFLOAD);
    }
}
