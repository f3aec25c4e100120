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

/**
 * TLS 1.3 KeyUpdate from a real peer: openssl s_client, with its command letters on, sends a KeyUpdate when a
 * line of input is {@code k} (update_not_requested) or {@code K} (update_requested: the server must answer
 * with a KeyUpdate of its own and switch its write key; s_client's protocol trace shows the answer). The client
 * then asks for a download, which arrives under the new keys on both sides, and the server's close_notify
 * ends it.
 */
class KeyUpdateInteropTest extends InteropTestBase {

    private static final Duration PEER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration EXCHANGE_TIMEOUT = Duration.ofSeconds(30);
    /** Lets s_client read each command line on its own: it takes a command only from the start of a read. */
    private static final long PAUSE_BETWEEN_LINES_MILLIS = 250;
    /** Several records, so that the answer to a requested update is followed by records under the new key. */
    private static final long SIZE = (1L << 20) + 7;

    private final OpenSslClientPeer openSsl = peer(new OpenSslClientPeer());

    private Stream<DynamicTest> keyUpdates(ServerUnderTest server) {
        openSsl.requireInstalled();
        List<DynamicTest> tests = new ArrayList<>();
        for (CipherCase cipher : CipherCase.values()) {
            if (!cipher.isTls13()) {
                continue;
            }
            for (String letter : List.of("k", "K", "kK")) {
                String name = "openssl s_client | " + server + " | " + cipher + " | KeyUpdate "
                        + describe(letter) + " then download " + Payload.label(SIZE);
                tests.add(DynamicTest.dynamicTest(name, () -> named(name, () -> keyUpdate(server, cipher, letter))));
            }
        }
        tests.add(noLateFailures("openssl s_client"));
        return tests.stream();
    }

    private static String describe(String letters) {
        List<String> updates = new ArrayList<>();
        for (char c : letters.toCharArray()) {
            updates.add(c == 'K' ? "update_requested" : "update_not_requested");
        }
        return String.join(", ", updates);
    }

    private void keyUpdate(ServerUnderTest mode, CipherCase cipher, String letters) throws Exception {
        InteropServer server = fixture.server(mode, cipher, InteropServer.Application.RAW);
        TransferCase transfer = new TransferCase(mode, cipher, TransferCase.Direction.DOWNLOAD, SIZE);
        Path messages = Files.createTempFile("ktls-interop-msg", ".txt");
        try {
            keyUpdate(server, transfer, letters, messages);
        } finally {
            Files.deleteIfExists(messages);
        }
    }

    private void keyUpdate(InteropServer server, TransferCase transfer, String letters, Path messages)
            throws Exception {
        CipherCase cipher = transfer.cipher();
        // Commands need -no_ign_eof after -quiet (which implies -ign_eof); the input stays open until exit.
        List<String> command = new ArrayList<>(List.of(openSsl.executable(), "s_client",
                "-connect", InteropPki.HOST + ":" + server.port(), "-CAfile", openSsl.caFile(),
                "-verify_return_error", "-verify_ip", InteropPki.HOST, "-quiet", "-no_ign_eof",
                "-msg", "-msgfile", messages.toString()));
        command.addAll(cipher.openSslClientArguments());
        List<byte[]> lines = new ArrayList<>();
        for (char letter : letters.toCharArray()) {
            lines.add((letter + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        lines.add(transfer.rawCommand().getBytes(StandardCharsets.US_ASCII));
        ExternalProcess.Stdin stdin = new ExternalProcess.Stdin(lines, PAUSE_BETWEEN_LINES_MILLIS, 0, false);
        ExternalProcess.Result result = ExternalProcess.run(command, stdin, PEER_TIMEOUT);
        assertEquals(0, result.exitCode(), result::describe);
        int updatesSent = result.stderr().split("KEYUPDATE", -1).length - 1;
        assertEquals(letters.length(), updatesSent, () -> "KeyUpdates s_client reports sending\n" + result.describe());
        CommandLinePeer.assertReceivedPayload(result, transfer);
        // s_client's protocol trace: "<<<" marks what it received.
        String trace = Files.readString(messages, StandardCharsets.ISO_8859_1);
        long answers = trace.lines().filter(l -> l.startsWith("<<<") && l.endsWith("KeyUpdate")).count();
        long requested = letters.chars().filter(c -> c == 'K').count();
        assertTrue(requested == 0 ? answers == 0 : answers >= 1, () -> "the server answered " + answers
                + " KeyUpdate(s) to " + requested + " request(s)\n" + trace);
        Exchange exchange = server.takeExchange(EXCHANGE_TIMEOUT);
        assertExchange(exchange, transfer, InteropServer.Application.RAW);
    }

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return keyUpdates(ServerUnderTest.SSL_HANDLER);
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return keyUpdates(ServerUnderTest.KTLS_INLINE);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return keyUpdates(ServerUnderTest.KTLS_OFFLOAD);
    }
}
