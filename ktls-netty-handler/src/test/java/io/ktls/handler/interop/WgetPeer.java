package io.ktls.handler.interop;

import java.util.List;

/**
 * wget (GnuTLS backend on Debian) against the HTTP application, downloads only: wget cannot stream an
 * upload from standard input. {@code --ciphers} takes a GnuTLS priority string with that backend.
 */
final class WgetPeer extends CommandLinePeer {

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
        if (!transfer.isDownload()) {
            // The case lists give wget downloads only; an upload here is a mistake in a list, not a skip.
            throw new IllegalArgumentException("wget has no streaming upload: " + transfer);
        }
        List<String> command = List.of(executable(), "--quiet", "--output-document=-", "--tries=1",
                "--ca-certificate=" + caFile(), "--ciphers=" + transfer.cipher().gnutlsPriority(),
                CurlPeer.url(port, transfer.httpPath()));
        assertReceivedPayload(run(command, ExternalProcess.Stdin.none(), transfer), transfer);
    }
}
