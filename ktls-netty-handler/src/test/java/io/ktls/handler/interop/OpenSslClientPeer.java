package io.ktls.handler.interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code openssl s_client} against the raw application, verifying the server against the test CA. With
 * {@code -quiet} it copies standard input to the connection and the connection to standard output, and
 * ignores end of input: it exits when the server closes, with status 0 only after a close_notify.
 */
final class OpenSslClientPeer extends CommandLinePeer {

    OpenSslClientPeer() {
        super("openssl", "openssl");
    }

    @Override
    public String name() {
        return "openssl s_client";
    }

    @Override
    public InteropServer.Application application() {
        return InteropServer.Application.RAW;
    }

    List<String> baseCommand(int port, CipherCase cipher) {
        List<String> command = new ArrayList<>(List.of(executable(), "s_client",
                "-connect", InteropPki.HOST + ":" + port, "-CAfile", caFile(), "-verify_return_error",
                "-verify_ip", InteropPki.HOST, "-nocommands"));
        command.addAll(cipher.openSslClientArguments());
        return command;
    }

    @Override
    public void transfer(int port, TransferCase transfer) throws Exception {
        List<String> command = baseCommand(port, transfer.cipher());
        command.add("-quiet");
        byte[] line = transfer.rawCommand().getBytes(StandardCharsets.US_ASCII);
        ExternalProcess.Stdin stdin = new ExternalProcess.Stdin(line, transfer.isDownload() ? 0 : transfer.size(), false);
        ExternalProcess.Result result = run(command, stdin, transfer);
        if (transfer.isDownload()) {
            assertReceivedPayload(result, transfer);
        } else {
            assertDigestAnswer(result, transfer);
        }
    }
}
