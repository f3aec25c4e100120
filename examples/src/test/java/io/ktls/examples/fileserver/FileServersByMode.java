package io.ktls.examples.fileserver;

import io.ktls.examples.testing.ServerProcess;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packaged file server, one process per {@code --mode}, started on a free port at first use and shared by
 * every test of a class; {@link #stopAll()} stops them when the class is done. Safe to use from tests running
 * in parallel: a mode's server is started once.
 */
final class FileServersByMode {

    private final Map<String, ServerProcess> servers = new ConcurrentHashMap<>();

    /** The server of {@code mode}, started with {@code options} if it is not running yet. */
    ServerProcess get(String mode, String... options) {
        return servers.computeIfAbsent(mode, m -> {
            List<String> args = new ArrayList<>(List.of(options));
            args.addAll(List.of("--port", "0", "--mode", m));
            try {
                return ServerProcess.startFileServer(args.toArray(String[]::new));
            } catch (IOException | InterruptedException e) {
                throw new AssertionError(e);
            }
        });
    }

    /**
     * Stops every server with SIGTERM and fails unless each exited with 0, leaked nothing and printed nothing
     * after its listening line.
     */
    void stopAll() throws InterruptedException {
        List<String> problems = ServerProcess.stopAll(servers);
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }
}
