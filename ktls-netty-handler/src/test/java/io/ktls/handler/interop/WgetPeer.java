package io.ktls.handler.interop;

import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * wget (GnuTLS backend on Debian) against the HTTP application, downloads only: wget cannot stream an
 * upload from standard input. {@code --ciphers} takes a GnuTLS priority string with that backend.
 */
final class WgetPeer extends ProcessPeer {

    WgetPeer() {
        super("wget", "wget");
    }

    @Override
    public String name() {
        return "wget";
    }

    @Override
    public InteropServer.Application application() {
        return InteropServer.Application.HTTP;
    }

    @Override
    public void transfer(int port, TransferCase transfer) throws Exception {
        assumeTrue(transfer.isDownload(), "wget has no streaming upload");
        List<String> command = List.of(executable(), "--quiet", "--output-document=-", "--tries=1",
                "--ca-certificate=" + caFile(), "--ciphers=" + transfer.cipher().gnutlsPriority(),
                CurlPeer.url(port, transfer.httpPath()));
        assertReceivedPayload(run(command, PeerProcess.Stdin.none(), transfer), transfer);
    }
}
