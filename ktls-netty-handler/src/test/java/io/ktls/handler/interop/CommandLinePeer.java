package io.ktls.handler.interop;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * An external peer run as a process per transfer, and the checks every such transfer shares: the peer
 * exits 0 (so it accepted the server's close_notify or response), a download's bytes hash to the payload's
 * digest, and an upload's answer is the payload's digest as the server computed it.
 */
abstract class CommandLinePeer implements InteropPeer {

    private final String executable;
    private final String debianPackage;
    private String path;

    CommandLinePeer(String executable, String debianPackage) {
        this.executable = executable;
        this.debianPackage = debianPackage;
    }

    @Override
    public void requireInstalled() {
        path = PeerBinary.require(executable, debianPackage);
    }

    /** The executable's absolute path; {@link #requireInstalled()} has run. */
    String executable() {
        if (path == null) {
            requireInstalled();
        }
        return path;
    }

    String caFile() {
        return InteropPki.get().caPemFile().toString();
    }

    /** Generous for loopback: 20 s plus 1 s per 10 MiB, so only a hang trips it. */
    static Duration timeout(long size) {
        return Duration.ofSeconds(20 + size / (10L << 20));
    }

    ExternalProcess.Result run(List<String> command, ExternalProcess.Stdin stdin, TransferCase transfer) throws Exception {
        ExternalProcess.Result result = ExternalProcess.run(command, stdin, timeout(transfer.size()));
        assertFalse(result.timedOut(), () -> "peer timed out\n" + result.describe());
        assertEquals(0, result.exitCode(), () -> "peer failed\n" + result.describe());
        return result;
    }

    static void assertReceivedPayload(ExternalProcess.Result result, TransferCase transfer) {
        assertEquals(transfer.size(), result.stdout().count(), () -> "bytes received\n" + result.describe());
        assertEquals(Payload.sha256Hex(transfer.size()), result.stdout().sha256Hex(),
                () -> "SHA-256 of the bytes received\n" + result.describe());
    }

    static void assertDigestAnswer(ExternalProcess.Result result, TransferCase transfer) {
        assertEquals(Payload.sha256Hex(transfer.size()) + "\n", result.stdout().head(),
                () -> "the server's SHA-256 of the upload\n" + result.describe());
    }
}
