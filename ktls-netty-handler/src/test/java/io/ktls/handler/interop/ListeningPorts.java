package io.ktls.handler.interop;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Ports for server peers (openssl s_server, gnutls-serv): a free one to hand them, and a wait until they
 * listen on it. The wait reads the kernel's socket tables instead of probing with a connection, because a
 * probe would be a connection to the peer (s_server {@code -naccept 1} would count it, and might feed it
 * input meant for the test's client).
 */
final class ListeningPorts {

    private static final String LISTEN_STATE = "0A";
    private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

    private ListeningPorts() {
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(InteropPki.HOST))) {
            return socket.getLocalPort();
        }
    }

    /** Returns once a socket listens on {@code port}; fails the test after {@code timeout}. */
    static void awaitListening(int port, Duration timeout, ExternalProcess.Running peer) throws Exception {
        String hexPort = String.format(Locale.ROOT, ":%04X", port);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (Path table : TABLES) {
                if (Files.exists(table)) {
                    for (String line : Files.readAllLines(table)) {
                        String[] fields = line.trim().split("\\s+");
                        if (fields.length > 3 && fields[1].endsWith(hexPort) && LISTEN_STATE.equals(fields[3])) {
                            return;
                        }
                    }
                }
            }
            if (!peer.isAlive()) {
                throw new AssertionError("the server peer exited before listening\n" + peer.kill().describe());
            }
            Thread.sleep(5);
        }
        throw new AssertionError("nothing listens on port " + port + " after " + timeout + "\n"
                + peer.kill().describe());
    }
}
