package io.ktls.handler.interop;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The server ends connections with a close_notify that real clients accept: each peer exits 0 and
 * reports the alert in its own words, which it prints only for a close_notify and never for a bare TCP
 * close (a truncation attack looks like the latter):
 * <ul>
 *   <li>curl {@code -v} reading a body delimited by the end of the connection (no length, so it must read
 *       on to the end): "TLS alert, close notify";</li>
 *   <li>openssl s_client (without {@code -quiet}, which would silence it): "closed" after the data;</li>
 *   <li>gnutls-cli: "Peer has closed the GnuTLS connection" in its log.</li>
 * </ul>
 * And the other way round: when s_client closes first, the server ends the connection without an error.
 */
class CloseNotifyInteropTest extends InteropTestBase {

    private static final Duration PEER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration EXCHANGE_TIMEOUT = Duration.ofSeconds(30);
    /** A record and a bit: the close_notify follows application records, not just the handshake. */
    private static final long SIZE = 16385;
    /** How long the server gets to raise a late error after a peer-initiated close. */
    private static final long LATE_FAILURE_WAIT_MILLIS = 50;
    /** The close races the server's answer, so each case tries a few connections. */
    private static final int PEER_CLOSE_ATTEMPTS = 3;

    private final CurlPeer curl = peer(new CurlPeer());
    private final OpenSslClientPeer openSsl = peer(new OpenSslClientPeer());
    private final GnutlsClientPeer gnutls = peer(new GnutlsClientPeer());

    private Stream<DynamicTest> closes(ServerUnderTest server) {
        curl.requireInstalled();
        openSsl.requireInstalled();
        gnutls.requireInstalled();
        List<DynamicTest> tests = new ArrayList<>();
        for (CipherCase cipher : CipherCase.values()) {
            TransferCase transfer = new TransferCase(server, cipher, TransferCase.Direction.DOWNLOAD, SIZE);
            String curlName = "curl | " + server + " | " + cipher + " | accepts close_notify";
            tests.add(DynamicTest.dynamicTest(curlName, () -> named(curlName, () -> curlSeesCloseNotify(transfer))));
            String sslName = "openssl s_client | " + server + " | " + cipher + " | accepts close_notify";
            tests.add(DynamicTest.dynamicTest(sslName, () -> named(sslName, () -> openSslSeesCloseNotify(transfer))));
            String gnutlsName = "gnutls-cli | " + server + " | " + cipher + " | accepts close_notify";
            tests.add(DynamicTest.dynamicTest(gnutlsName,
                    () -> named(gnutlsName, () -> gnutlsSeesCloseNotify(transfer))));
            String firstName = "openssl s_client | " + server + " | " + cipher + " | closes first";
            tests.add(DynamicTest.dynamicTest(firstName, () -> named(firstName, () -> openSslClosesFirst(transfer))));
        }
        tests.add(noLateFailures("curl, openssl s_client and gnutls-cli"));
        return tests.stream();
    }

    private void curlSeesCloseNotify(TransferCase transfer) throws Exception {
        InteropServer server = fixture.server(transfer.server(), transfer.cipher(), InteropServer.Application.HTTP);
        List<String> command = curl.baseCommand(transfer.cipher());
        command.addAll(List.of("--verbose", "--output", "-",
                CurlPeer.url(server.port(), "/bytes/" + transfer.size() + "?close")));
        ExternalProcess.Result result = ExternalProcess.run(command, ExternalProcess.Stdin.none(), PEER_TIMEOUT);
        assertEquals(0, result.exitCode(), result::describe);
        CommandLinePeer.assertReceivedPayload(result, transfer);
        assertTrue(result.stderr().contains("(IN), TLS alert, close notify"),
                () -> "curl saw no close_notify\n" + result.describe());
        assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), transfer, InteropServer.Application.HTTP);
    }

    private void openSslSeesCloseNotify(TransferCase transfer) throws Exception {
        InteropServer server = fixture.server(transfer.server(), transfer.cipher(), InteropServer.Application.RAW);
        List<String> command = openSsl.baseCommand(server.port(), transfer.cipher());
        command.add("-ign_eof");
        ExternalProcess.Result result = ExternalProcess.run(command, rawCommand(transfer), PEER_TIMEOUT);
        assertEquals(0, result.exitCode(), result::describe);
        assertTrue(result.stdout().tail().endsWith("closed\n"),
                () -> "s_client saw no close_notify; it ended with \"" + result.stdout().tail() + "\"\n"
                        + result.describe());
        assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), transfer, InteropServer.Application.RAW);
    }

    /**
     * The peer ends the connection: s_client at the end of its (empty) input sends close_notify and closes its
     * socket at once, without waiting for the answer. The server must take that as a clean end: no error,
     * now or when its own close_notify meets the closed socket.
     */
    private void openSslClosesFirst(TransferCase transfer) throws Exception {
        InteropServer server = fixture.server(transfer.server(), transfer.cipher(), InteropServer.Application.RAW);
        List<String> command = openSsl.baseCommand(server.port(), transfer.cipher());
        command.addAll(List.of("-quiet", "-no_ign_eof"));
        for (int attempt = 1; attempt <= PEER_CLOSE_ATTEMPTS; attempt++) {
            int n = attempt;
            ExternalProcess.Result result = ExternalProcess.run(command, ExternalProcess.Stdin.none(), PEER_TIMEOUT);
            assertEquals(0, result.exitCode(), result::describe);
            Exchange exchange = server.takeExchange(EXCHANGE_TIMEOUT);
            String expected = RawExchangeHandler.INCOMPLETE + RawExchangeHandler.AFTER_CLOSE_NOTIFY;
            if (exchange.failure() == null || !expected.equals(exchange.failure().getMessage())) {
                fail("connection " + n + ": expected a clean end after the peer's close_notify, got " + exchange,
                        exchange.failure());
            }
            Thread.sleep(LATE_FAILURE_WAIT_MILLIS);
            List<String> late = fixture.drainLateFailures();
            assertTrue(late.isEmpty(), () -> "connection " + n + ": errors after the peer's close_notify:\n"
                    + String.join("\n", late));
        }
    }

    private void gnutlsSeesCloseNotify(TransferCase transfer) throws Exception {
        InteropServer server = fixture.server(transfer.server(), transfer.cipher(), InteropServer.Application.RAW);
        Path log = Files.createTempFile("ktls-interop-gnutls", ".log");
        try {
            List<String> command = GnutlsClientPeer.withHost(
                    gnutls.baseCommand(server.port(), transfer.cipher(), log.toString()));
            ExternalProcess.Result result = ExternalProcess.run(command, rawCommand(transfer), PEER_TIMEOUT);
            String report = Files.readString(log, StandardCharsets.ISO_8859_1);
            assertEquals(0, result.exitCode(), () -> result.describe() + "\nlog:\n" + report);
            CommandLinePeer.assertReceivedPayload(result, transfer);
            assertTrue(report.contains("Peer has closed the GnuTLS connection"),
                    () -> "gnutls-cli saw no close_notify\nlog:\n" + report);
            assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), transfer, InteropServer.Application.RAW);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static ExternalProcess.Stdin rawCommand(TransferCase transfer) {
        return new ExternalProcess.Stdin(transfer.rawCommand().getBytes(StandardCharsets.US_ASCII), 0, false);
    }

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return closes(ServerUnderTest.SSL_HANDLER);
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return closes(ServerUnderTest.KTLS_INLINE);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return closes(ServerUnderTest.KTLS_OFFLOAD);
    }
}
