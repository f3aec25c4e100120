package io.ktls.handler.interop;

import java.util.ArrayList;
import java.util.List;

/**
 * curl (OpenSSL backend on Debian) against the HTTP application: {@code GET /bytes/<n>} to standard output,
 * and {@code PUT /sha256} streaming standard input with chunked transfer encoding ({@code -T -}).
 */
final class CurlPeer extends CommandLinePeer {

    CurlPeer() {
        super("curl", "curl");
    }

    @Override
    public String name() {
        return "curl";
    }

    @Override
    public InteropServer.Application application() {
        return InteropServer.Application.HTTP;
    }

    List<String> baseCommand(CipherCase cipher) {
        List<String> command = new ArrayList<>(List.of(executable(), "--silent", "--show-error", "--fail",
                "--http1.1", "--cacert", caFile()));
        command.addAll(cipher.curlArguments());
        return command;
    }

    static String url(int port, String path) {
        return "https://" + InteropPki.HOST + ":" + port + path;
    }

    @Override
    public void transfer(int port, TransferCase transfer) throws Exception {
        List<String> command = baseCommand(transfer.cipher());
        if (transfer.isDownload()) {
            command.addAll(List.of("--output", "-", url(port, transfer.httpPath())));
            assertReceivedPayload(run(command, ExternalProcess.Stdin.none(), transfer), transfer);
        } else {
            command.addAll(List.of("--upload-file", "-", url(port, "/sha256")));
            ExternalProcess.Stdin stdin = new ExternalProcess.Stdin(new byte[0], transfer.size(), true);
            assertDigestAnswer(run(command, stdin, transfer), transfer);
        }
    }
}
