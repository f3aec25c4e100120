package io.ktls.examples.stream;

import io.ktls.examples.testing.ServerProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The streaming pair as the benchmark runs it: two processes, every byte verified.
 *
 * <p>When the client times out (its STATS query, a handshake or a connect) it prints its own thread dump and
 * holds its connections open ({@code --hold-on-timeout}) while this test takes the server's, so the failure shows
 * both sides as they were when the client gave up. Both processes stop in {@link #stopProcesses()}, after JUnit's
 * exception handlers ran, so {@code ThreadDumpOnTimeout} adds this JVM's dump and the server's once more, and
 * the client's too if it does not exit.
 */
@Tag("interop")
class StreamPairIT {

    private static final long CLIENT_EXIT_SECONDS = 60;
    /** Enough for a thread dump of the server (jcmd) on a loaded machine. */
    private static final int HOLD_ON_TIMEOUT_SECONDS = 15;
    private static final long ERROR_POLL_MILLIS = 50;

    private ServerProcess server;
    private Process client;

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void clientVerifiesEveryByteAndReportsBothSidesCpu(String mode) throws Exception {
        server = ServerProcess.startMain("io.ktls.examples.stream.StreamServer",
                "--mode", mode, "--port", "0", "--size", "3m", "--bytes", "1000001");
        List<String> command = new ArrayList<>(List.of(ServerProcess.javaExecutable(), "-cp",
                ServerProcess.jar().toString(), "io.ktls.examples.stream.StreamClient",
                "--port", String.valueOf(server.port()), "--streams", "3", "--duration", "1.5",
                "--warmup", "0.5", "--verify", "--hold-on-timeout", String.valueOf(HOLD_ON_TIMEOUT_SECONDS)));
        if (mode.equals("plain")) {
            command.add("--plain");
        } else {
            command.addAll(List.of("--protocols", "TLSv1.3"));
        }
        File stdout = File.createTempFile("stream-client-", ".out");
        File stderr = File.createTempFile("stream-client-", ".err");
        stdout.deleteOnExit();
        stderr.deleteOnExit();
        client = new ProcessBuilder(command).redirectOutput(stdout).redirectError(stderr).start();
        String serverAtClientError = serverDumpAtClientError(stderr.toPath());
        String out = Files.readString(stdout.toPath());
        String err = Files.readString(stderr.toPath());
        assertEquals(0, client.exitValue(), () -> err + serverAtClientError);

        Map<String, String> summary = new HashMap<>();
        for (String pair : out.trim().split(" ")) {
            String[] kv = pair.split("=", 2);
            summary.put(kv[0], kv[1]);
        }
        assertEquals(mode, summary.get("mode"), out);
        assertEquals("3", summary.get("streams"));
        assertEquals("true", summary.get("verified"));
        assertTrue(Long.parseLong(summary.get("bytes")) > 3 * 1000001L, "several repetitions: " + out);
        assertTrue(Double.parseDouble(summary.get("MBps")) > 0, out);
        assertTrue(Double.parseDouble(summary.get("serverCpuSecPerGB")) > 0, out);
        assertTrue(Double.parseDouble(summary.get("clientCpuSecPerGB")) > 0, out);
        assertEquals(mode.equals("plain") ? "none" : "TLSv1.3", summary.get("protocol"), out);
        assertTrue(err.contains("MB/s"), "progress lines on stderr: " + err);

        ServerProcess stopping = server;
        server = null;
        assertEquals(0, stopping.terminate());
        assertEquals(List.of(), stopping.leakReports());
    }

    /**
     * Waits for the client to exit; if it prints an {@code error:} line first, takes the server's thread dump
     * right then (the client holds its connections open after a timeout).
     *
     * @return the dump, with a heading, or "" if the client reported no error
     */
    private String serverDumpAtClientError(Path clientStderr) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CLIENT_EXIT_SECONDS);
        String dump = "";
        while (!client.waitFor(ERROR_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            if (dump.isEmpty() && Files.readString(clientStderr).contains("error:")) {
                dump = "\n=== the server when the client reported its error ===\n" + server.threadDump();
            }
            if (System.nanoTime() > deadline) {
                fail("the client: no exit within " + CLIENT_EXIT_SECONDS + " s; its stderr so far:\n"
                        + Files.readString(clientStderr) + dump);
            }
        }
        return dump;
    }

    @AfterEach
    void stopProcesses() throws InterruptedException {
        if (client != null && client.isAlive()) {
            client.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.close();
        }
    }
}
