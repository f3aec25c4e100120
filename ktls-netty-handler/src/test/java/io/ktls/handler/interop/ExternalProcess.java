package io.ktls.handler.interop;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one external TLS peer (curl, wget, openssl s_client, gnutls-cli) to completion: feeds its standard
 * input (a command line and/or payload bytes), digests its standard output as it streams (100 MiB never sits
 * in memory), keeps the tail of its standard error for messages, and kills it at a deadline.
 */
final class ExternalProcess {

    private static final int MAX_STDERR_BYTES = 16 * 1024;

    /**
     * What to write to the peer's standard input: some lines, each flushed and followed by a pause (so that
     * an interactive peer reads each alone), then payload bytes; and whether to close it afterwards or only
     * at the peer's exit.
     */
    record Stdin(List<byte[]> lines, long pauseMillis, long payloadBytes, boolean closeWhenWritten) {
        Stdin(byte[] prefix, long payloadBytes, boolean closeWhenWritten) {
            this(List.of(prefix), 0, payloadBytes, closeWhenWritten);
        }

        static Stdin none() {
            return new Stdin(new byte[0], 0, true);
        }
    }

    /** How a peer run ended: exit code (or a timeout), what it wrote, what could not be fed to it. */
    record Result(List<String> command, int exitCode, boolean timedOut, ReceivedBytes stdout, String stderr,
                  IOException stdinFailure) {

        /** A block for assertion messages: the command line, exit status and error output. */
        String describe() {
            return "command: " + String.join(" ", command)
                    + "\nexit: " + (timedOut ? "killed after timeout" : exitCode)
                    + "\nstdout: " + stdout.count() + " bytes, starting " + printable(stdout.head(), 200)
                    + (stdinFailure != null ? "\nstdin: " + stdinFailure : "")
                    + "\nstderr:\n" + stderr;
        }

        private static String printable(String s, int max) {
            StringBuilder b = new StringBuilder("\"");
            for (int i = 0; i < s.length() && i < max; i++) {
                char c = s.charAt(i);
                b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
            }
            return b.append('"').toString();
        }
    }

    private ExternalProcess() {
    }

    static Result run(List<String> command, Stdin stdin, Duration timeout) throws IOException, InterruptedException {
        return start(command, stdin).finish(timeout);
    }

    /** Starts the peer and the threads that feed and drain it; {@link Running#finish} or {@link Running#kill}. */
    static Running start(List<String> command, Stdin stdin) throws IOException {
        return new Running(command, stdin, null);
    }

    /** As {@link #start(List, Stdin)}, in {@code directory} (a server peer serving files from it). */
    static Running start(List<String> command, Stdin stdin, java.io.File directory) throws IOException {
        return new Running(command, stdin, directory);
    }

    /** A peer process in progress (a server peer runs while the test's client talks to it). */
    static final class Running {
        private final List<String> command;
        private final Process process;
        private final ReceivedBytes stdout = new ReceivedBytes();
        private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        private final IOException[] stdinFailure = new IOException[1];
        private final List<Thread> threads;

        private Running(List<String> command, Stdin stdin, java.io.File directory) throws IOException {
            this.command = command;
            process = new ProcessBuilder(command).directory(directory).start();
            Thread writer = new Thread(() -> {
                try (OutputStream out = process.getOutputStream()) {
                    for (byte[] line : stdin.lines()) {
                        out.write(line);
                        out.flush();
                        Thread.sleep(stdin.pauseMillis());
                    }
                    Payload.writeTo(out, stdin.payloadBytes());
                    out.flush();
                    if (!stdin.closeWhenWritten()) {
                        // Some peers end the session at end of input: hold it open until the peer exits.
                        process.waitFor();
                    }
                } catch (IOException e) {
                    stdinFailure[0] = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "peer-stdin");
            Thread reader = new Thread(() -> {
                byte[] chunk = new byte[Payload.CHUNK_BYTES];
                try (InputStream in = process.getInputStream()) {
                    for (int n; (n = in.read(chunk)) != -1; ) {
                        stdout.update(chunk, 0, n);
                    }
                } catch (IOException ignored) {
                    // The process was killed; its exit status is what gets reported.
                }
            }, "peer-stdout");
            Thread errorReader = new Thread(() -> {
                byte[] chunk = new byte[4096];
                try (InputStream in = process.getErrorStream()) {
                    for (int n; (n = in.read(chunk)) != -1; ) {
                        synchronized (stderr) {
                            if (stderr.size() < MAX_STDERR_BYTES) {
                                stderr.write(chunk, 0, Math.min(n, MAX_STDERR_BYTES - stderr.size()));
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // As above.
                }
            }, "peer-stderr");
            threads = List.of(writer, reader, errorReader);
            for (Thread t : threads) {
                t.setDaemon(true);
                t.start();
            }
        }

        /** Waits for the peer to exit by itself, killing it at the deadline (reported as a timeout). */
        Result finish(Duration timeout) throws InterruptedException {
            boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!exited) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            return collect(exited);
        }

        /** Stops a peer that would run forever (a server), then collects what it wrote. */
        Result kill() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            return collect(true);
        }

        boolean isAlive() {
            return process.isAlive();
        }

        private Result collect(boolean exited) throws InterruptedException {
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(10));
            }
            String errors;
            synchronized (stderr) {
                errors = stderr.toString(java.nio.charset.StandardCharsets.UTF_8);
            }
            return new Result(command, exited ? process.exitValue() : -1, !exited, stdout, errors, stdinFailure[0]);
        }
    }
}
