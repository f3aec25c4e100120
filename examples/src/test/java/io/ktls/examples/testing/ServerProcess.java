package io.ktls.examples.testing;

import io.ktls.testing.ThreadDumpOnTimeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of the example programs running as a real process, started from the packaged jar with the JVM that
 * runs the tests, with Netty's leak detector at PARANOID so {@link #leakReports()} can prove nothing
 * leaked. {@link #start} returns once the process printed its {@code listening on} line.
 */
public final class ServerProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on (https?)://([^/]+):(\\d+)/");
    private static final long START_TIMEOUT_SECONDS = 60;

    private final Process process;
    private final String firstLine;
    private final String scheme;
    private final int port;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    /** stderr goes to a file: a pipe read after the process exited can lose its last lines. */
    private final Path stderrFile;
    private final Thread stdoutPump;

    private ServerProcess(Process process, String firstLine, String scheme, int port, InputStream restOfStdout,
                          Path stderrFile) {
        this.process = process;
        this.firstLine = firstLine;
        this.scheme = scheme;
        this.port = port;
        this.stderrFile = stderrFile;
        this.stdoutPump = pump(restOfStdout, stdout);
    }

    /** The packaged jar, as built by {@code package} (failsafe passes its path). */
    public static Path jar() {
        Path jar = Path.of(System.getProperty("ktls.examples.jar", "target/ktls-file-server.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no " + jar + ": run these tests with `mvn verify` (after package)");
        }
        return jar;
    }

    public static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** {@code java -jar ktls-file-server.jar args...} */
    public static ServerProcess startFileServer(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(javaExecutable(),
                "-Dio.netty.leakDetection.level=paranoid", "-jar", jar().toString()));
        command.addAll(List.of(args));
        return start(command);
    }

    /** {@code java -cp ktls-file-server.jar mainClass args...} */
    public static ServerProcess startMain(String mainClass, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(javaExecutable(),
                "-Dio.netty.leakDetection.level=paranoid", "-cp", jar().toString(), mainClass));
        command.addAll(List.of(args));
        return start(command);
    }

    private static ServerProcess start(List<String> command) throws IOException, InterruptedException {
        Path stderrFile = Files.createTempFile("ktls-examples-", ".stderr");
        stderrFile.toFile().deleteOnExit();
        Process process = new ProcessBuilder(command).redirectError(stderrFile.toFile()).start();
        InputStream out = process.getInputStream();
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> readLine(out));
        String first;
        try {
            first = line.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IOException("no listening line from " + command + "; stderr: "
                    + Files.readString(stderrFile), e);
        }
        Matcher m = LISTENING.matcher(first == null ? "" : first);
        if (!m.matches()) {
            process.destroyForcibly().waitFor();
            String err = Files.readString(stderrFile);
            throw new IOException("unexpected first line: " + first + "; stderr: " + err);
        }
        return new ServerProcess(process, first, m.group(1), Integer.parseInt(m.group(3)), out, stderrFile);
    }

    private static String readLine(InputStream in) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            return b < 0 && line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }

    private static Thread pump(InputStream in, ByteArrayOutputStream sink) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    synchronized (sink) {
                        sink.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "pump");
        t.setDaemon(true);
        t.start();
        return t;
    }

    public String firstLine() {
        return firstLine;
    }

    public int port() {
        return port;
    }

    /** e.g. {@code https://127.0.0.1:40123} (no trailing slash). */
    public String baseUrl() {
        return scheme + "://127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * The server's threads as {@code jcmd PID Thread.print} shows them, for a failure message: a test that closes
     * its server before the failure reaches JUnit (try-with-resources) takes it here, while the server runs.
     * (Tests that stop servers in {@code @AfterEach} or {@code @AfterAll} get it from {@code ThreadDumpOnTimeout}
     * on any timeout.)
     */
    public String threadDump() {
        return process.isAlive() ? ThreadDumpOnTimeout.ofProcess(process.pid())
                : "(no thread dump: the server exited with " + process.exitValue() + ")";
    }

    public String stderr() {
        try {
            return Files.readString(stderrFile);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What the process printed on stdout after its first line. */
    public String stdoutAfterFirstLine() {
        synchronized (stdout) {
            return stdout.toString(StandardCharsets.UTF_8);
        }
    }

    /** Lines of Netty's leak detector in stderr (empty when nothing leaked). */
    public List<String> leakReports() {
        List<String> leaks = new ArrayList<>();
        for (String line : stderr().split("\n")) {
            if (line.contains("LEAK:")) {
                leaks.add(line);
            }
        }
        return leaks;
    }

    /**
     * Sends SIGTERM (what {@link Process#destroy()} does on Linux) and waits for the exit.
     *
     * @return the exit status
     */
    public int terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("no exit within 30 s of SIGTERM; stderr:\n" + stderr());
        }
        stdoutPump.join(5_000);
        return process.exitValue();
    }

    /**
     * Stops each server with SIGTERM and lists what a clean shutdown must not show: an exit status other than
     * 0, a process still alive, a leak report, or more than the one {@code listening on} line on stdout.
     * Empties {@code servers}; an empty list means every server stopped cleanly.
     */
    public static List<String> stopAll(Map<String, ServerProcess> servers) throws InterruptedException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, ServerProcess> e : servers.entrySet()) {
            ServerProcess server = e.getValue();
            int status = server.terminate();
            if (status != 0) {
                problems.add(e.getKey() + ": exit status " + status);
            }
            if (server.isAlive()) {
                problems.add(e.getKey() + ": still running after SIGTERM");
            }
            if (!server.leakReports().isEmpty()) {
                problems.add(e.getKey() + ": leaks " + server.leakReports());
            }
            if (!server.stdoutAfterFirstLine().isEmpty()) {
                problems.add(e.getKey() + ": more than one line on stdout: " + server.stdoutAfterFirstLine());
            }
        }
        servers.clear();
        return problems;
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            terminate();
        }
    }
}
