package io.ktls.examples.stream;

import io.ktls.examples.testing.ServerProcess;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streaming pair as the benchmark runs it: two processes, every byte verified. */
@Tag("interop")
class StreamPairIT {

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void clientVerifiesEveryByteAndReportsBothSidesCpu(String mode) throws Exception {
        try (ServerProcess server = ServerProcess.startMain("io.ktls.examples.stream.StreamServer",
                "--mode", mode, "--port", "0", "--size", "3m", "--bytes", "1000001")) {
            List<String> command = new ArrayList<>(List.of(ServerProcess.javaExecutable(), "-cp",
                    ServerProcess.jar().toString(), "io.ktls.examples.stream.StreamClient",
                    "--port", String.valueOf(server.port()), "--streams", "3", "--duration", "1.5",
                    "--warmup", "0.5", "--verify"));
            if (mode.equals("plain")) {
                command.add("--plain");
            } else {
                command.addAll(List.of("--protocols", "TLSv1.3"));
            }
            Process client = new ProcessBuilder(command).start();
            String out = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(client.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(client.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, client.exitValue(), err);

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

            assertEquals(0, server.terminate());
            assertEquals(List.of(), server.leakReports());
        }
    }
}
