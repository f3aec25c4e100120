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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Session tickets reach real clients, and a resumed (abbreviated) handshake hands over to the record layer
 * as well as a full one, for every suite:
 * <ul>
 *   <li>openssl s_client stores the session from the first connection ({@code -sess_out}, written only when
 *       a ticket arrives) and resumes it on the second ({@code -sess_in}, reported as "Reused");</li>
 *   <li>gnutls-cli {@code --resume} reconnects with the ticket and reports a resumed session; in TLS 1.3 with
 *       {@code --waitresumption} it waits for the ticket before sending anything, so the server must deliver
 *       its NewSessionTicket without any application data to carry it. Netty's SslHandler with BoringSSL
 *       does not (tickets wait for the first application write), so the baseline skips those cases.</li>
 * </ul>
 */
class SessionResumptionInteropTest extends InteropTestBase {

    private static final Duration PEER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration EXCHANGE_TIMEOUT = Duration.ofSeconds(30);

    private final OpenSslClientPeer openSsl = peer(new OpenSslClientPeer());
    private final GnutlsClientPeer gnutls = peer(new GnutlsClientPeer());

    private Stream<DynamicTest> resumptions(ServerUnderTest server) {
        openSsl.requireInstalled();
        gnutls.requireInstalled();
        List<DynamicTest> tests = new ArrayList<>();
        for (CipherCase cipher : CipherCase.values()) {
            String openSslName = "openssl s_client | " + server + " | " + cipher + " | resumes with a ticket";
            tests.add(DynamicTest.dynamicTest(openSslName,
                    () -> named(openSslName, () -> resumeWithOpenSsl(server, cipher))));
            if (cipher.isTls13() && !server.takesOverRecordLayer()) {
                // BoringSSL holds TLS 1.3 tickets until the first application write, so behind a plain
                // SslHandler gnutls-cli --waitresumption waits forever: only the record layer flushes them.
                continue;
            }
            String gnutlsName = "gnutls-cli | " + server + " | " + cipher + " | resumes with a ticket";
            tests.add(DynamicTest.dynamicTest(gnutlsName,
                    () -> named(gnutlsName, () -> resumeWithGnutls(server, cipher))));
        }
        tests.add(noLateFailures("openssl s_client and gnutls-cli"));
        return tests.stream();
    }

    private void resumeWithOpenSsl(ServerUnderTest mode, CipherCase cipher) throws Exception {
        InteropServer server = fixture.server(mode, cipher, InteropServer.Application.RAW);
        TransferCase oneByte = new TransferCase(mode, cipher, TransferCase.Direction.DOWNLOAD, 1);
        Path session = Files.createTempFile("ktls-interop-session", ".pem");
        try {
            Files.delete(session);
            List<String> first = openSsl.baseCommand(server.port(), cipher);
            first.addAll(List.of("-sess_out", session.toString(), "-quiet"));
            ExternalProcess.Result initial = ExternalProcess.run(first, command(oneByte), PEER_TIMEOUT);
            assertEquals(0, initial.exitCode(), () -> "first connection\n" + initial.describe());
            CommandLinePeer.assertReceivedPayload(initial, oneByte);
            assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), oneByte, InteropServer.Application.RAW);
            assertTrue(Files.isRegularFile(session) && Files.size(session) > 0,
                    "s_client stored no session: no session ticket reached it");

            List<String> second = openSsl.baseCommand(server.port(), cipher);
            second.addAll(List.of("-sess_in", session.toString(), "-ign_eof"));
            ExternalProcess.Result resumed = ExternalProcess.run(second, command(oneByte), PEER_TIMEOUT);
            assertEquals(0, resumed.exitCode(), () -> "resumed connection\n" + resumed.describe());
            String reused = "Reused, " + cipher.protocol() + ", Cipher is " + cipher.openSslName();
            assertTrue(resumed.stdout().head().contains(reused), () -> "expected \"" + reused + "\"\n"
                    + resumed.describe() + "\nfull report:\n" + resumed.stdout().head());
            assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), oneByte, InteropServer.Application.RAW);
        } finally {
            Files.deleteIfExists(session);
        }
    }

    private void resumeWithGnutls(ServerUnderTest mode, CipherCase cipher) throws Exception {
        InteropServer server = fixture.server(mode, cipher, InteropServer.Application.RAW);
        TransferCase oneByte = new TransferCase(mode, cipher, TransferCase.Direction.DOWNLOAD, 1);
        Path log = Files.createTempFile("ktls-interop-gnutls", ".log");
        try {
            List<String> command = gnutls.baseCommand(server.port(), cipher, log.toString());
            command.add("--resume");
            if (cipher.isTls13()) {
                command.add("--waitresumption");
            }
            ExternalProcess.Result result = ExternalProcess.run(GnutlsClientPeer.withHost(command), command(oneByte),
                    PEER_TIMEOUT);
            String report = Files.readString(log, StandardCharsets.ISO_8859_1);
            assertFalse(result.timedOut(), () -> "gnutls-cli hung (waiting for a session ticket?)\n"
                    + result.describe() + "\nlog:\n" + report);
            assertEquals(0, result.exitCode(), () -> result.describe() + "\nlog:\n" + report);
            assertTrue(report.contains("This is a resumed session"),
                    () -> "gnutls-cli did not resume\nlog:\n" + report);
            CommandLinePeer.assertReceivedPayload(result, oneByte);
            // The first connection only fetches the ticket and leaves without a request.
            Exchange ticketOnly = server.takeExchange(EXCHANGE_TIMEOUT);
            if (ticketOnly.failure() == null
                    || !ticketOnly.failure().getMessage().startsWith(RawExchangeHandler.INCOMPLETE)) {
                fail("first connection, which only fetches a ticket: " + ticketOnly, ticketOnly.failure());
            }
            assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), oneByte, InteropServer.Application.RAW);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static ExternalProcess.Stdin command(TransferCase transfer) {
        return new ExternalProcess.Stdin(transfer.rawCommand().getBytes(StandardCharsets.US_ASCII), 0, false);
    }

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return resumptions(ServerUnderTest.SSL_HANDLER);
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return resumptions(ServerUnderTest.KTLS_INLINE);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return resumptions(ServerUnderTest.KTLS_OFFLOAD);
    }
}
