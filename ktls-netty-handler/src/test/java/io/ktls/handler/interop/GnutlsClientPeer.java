package io.ktls.handler.interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gnutls-cli} against the raw application, verifying the server against the test CA. Its status
 * messages go to a log file so that standard output carries only application data.
 */
final class GnutlsClientPeer extends CommandLinePeer {

    GnutlsClientPeer() {
        super("gnutls-cli", "gnutls-bin");
    }

    @Override
    public String name() {
        return "gnutls-cli";
    }

    @Override
    public InteropServer.Application application() {
        return InteropServer.Application.RAW;
    }

    /** The command without its host argument, which {@link #withHost} appends last. */
    List<String> baseCommand(int port, CipherCase cipher, String logFile) {
        return new ArrayList<>(List.of(executable(), "--x509cafile", caFile(),
                "--priority", cipher.gnutlsPriority(), "--port", String.valueOf(port), "--logfile", logFile));
    }

    static List<String> withHost(List<String> command) {
        command.add(InteropPki.HOST);
        return command;
    }

    @Override
    public void transfer(int port, TransferCase transfer) throws Exception {
        byte[] line = transfer.rawCommand().getBytes(StandardCharsets.US_ASCII);
        ExternalProcess.Stdin stdin = new ExternalProcess.Stdin(line, transfer.isDownload() ? 0 : transfer.size(), false);
        ExternalProcess.Result result = run(withHost(baseCommand(port, transfer.cipher(), "/dev/null")), stdin,
                transfer);
        if (transfer.isDownload()) {
            assertReceivedPayload(result, transfer);
        } else {
            assertDigestAnswer(result, transfer);
        }
    }
}
