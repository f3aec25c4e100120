package io.ktls.examples.fileserver;

import io.ktls.examples.testing.Curl;
import io.ktls.examples.testing.ServerProcess;
import io.ktls.examples.tls.SelfSignedCertificate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The file server process's life, one process per test: options, certificates, and shutdown on SIGTERM (the HTTP
 * answers of a running server are {@link FileServerHttpIT}'s).
 */
@Tag("interop")
class FileServerLifecycleIT {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void sigtermAfterTrafficExitsWithStatus0AndLeaksNothing(String mode) throws Exception {
        Path root = Files.createDirectory(dir.resolve("root"));
        Files.write(root.resolve("file.bin"), new byte[3 * 1024 * 1024]);
        Files.write(root.resolve("large.bin"), new byte[64 * 1024 * 1024]); // more than socket buffers hold
        ServerProcess server = ServerProcess.startFileServer("--root", root.toString(), "--port", "0", "--mode", mode);
        try {
            assertEquals(200, Curl.fetch(dir, server.baseUrl() + "/file.bin").status);
            // A slow client in the middle of a download must not keep the process alive.
            Process slow = new ProcessBuilder("curl", "-sk", "--max-time", "30", server.baseUrl() + "/large.bin",
                    "--limit-rate", "1m", "-o", "/dev/null").start();
            Thread.sleep(1000);
            assertEquals(0, server.terminate(), server.stderr());
            assertFalse(server.isAlive());
            assertTrue(server.stderr().contains("shutting down"), server.stderr());
            assertEquals(List.of(), server.leakReports());
            slow.destroy();
            assertTrue(slow.waitFor(10, TimeUnit.SECONDS));
        } finally {
            server.close();
        }
    }

    @Test
    void accessLogGoesToStderrByDefaultToAFileOrNowhere() throws Exception {
        Path root = Files.createDirectory(dir.resolve("root"));
        Files.writeString(root.resolve("a.txt"), "logged\n");
        Path file = dir.resolve("access.log");
        String line = "\"GET /a.txt HTTP/1.1\" 200 7 ";
        for (String where : new String[] {"default", "off", file.toString()}) {
            List<String> args = new ArrayList<>(List.of("--root", root.toString(), "--port", "0", "--mode", "inline"));
            if (!where.equals("default")) {
                args.addAll(List.of("--access-log", where));
            }
            ServerProcess server = ServerProcess.startFileServer(args.toArray(new String[0]));
            try {
                assertEquals(200, Curl.fetch(dir, server.baseUrl() + "/a.txt").status);
                String stats = Curl.fetch(dir, server.baseUrl() + "/_stats").bodyText();
                assertTrue(stats.contains("\"accessLogLinesDropped\":0"), stats);
                // SIGTERM first: the lines still queued are written before the process ends.
                assertEquals(0, server.terminate(), server.stderr());
                String stderr = server.stderr();
                assertEquals(where.equals("default"), stderr.contains(line), where + ": " + stderr);
                String expected = where.equals("default") ? "access log on stderr"
                        : where.equals("off") ? "access log off" : "access log to " + file;
                assertTrue(stderr.contains(expected), where + ": " + stderr);
            } finally {
                server.close();
            }
        }
        String logged = Files.readString(file); // the request for /a.txt, then the one for /_stats
        assertEquals(2, logged.split("\n").length, logged);
        assertTrue(logged.contains(line), logged);
    }

    @Test
    void givenCertificateAndKeyAreServedAndVerifiableWithTls12Rsa() throws Exception {
        SelfSignedCertificate rsa = SelfSignedCertificate.generate(SelfSignedCertificate.KeyType.RSA_2048);
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Files.writeString(cert, rsa.certificatePem());
        Files.writeString(key, rsa.privateKeyPem());
        Path root = Files.createDirectory(dir.resolve("root"));
        Files.writeString(root.resolve("a.txt"), "verified\n");
        try (ServerProcess server = ServerProcess.startFileServer("--root", root.toString(), "--port", "0",
                "--cert", cert.toString(), "--key", key.toString(), "--protocols", "TLSv1.2",
                "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256")) {
            // No -k: curl checks the chain against the pinned certificate and the name localhost.
            Curl.Response response = Curl.fetch(dir, "https://localhost:" + server.port() + "/a.txt",
                    "--cacert", cert.toString(), "-v");
            assertEquals(200, response.status, response.stderr);
            assertEquals("verified\n", response.bodyText());
            assertTrue(response.stderr.contains("TLSv1.2"), response.stderr);
            assertTrue(response.stderr.contains("ECDHE-RSA-AES128-GCM-SHA256"), response.stderr);
        }
    }

    @Test
    void badOptionsPrintUsageAndExitWith2() throws Exception {
        String[][] bad = {{"--mode", "fast"}, {"--port", "70000"}, {"--bogus"}, {"--cert", "/nonexistent"},
            {"--transport", "carrier-pigeon"}, {"--workers", "0"}, {"--root", "/nonexistent-folder"},
            {"--cert", "pom.xml"}, {"--ciphers", "NOT-A-CIPHER"}, {"--cert", "pom.xml", "--key", "pom.xml"}};
        for (String[] args : bad) {
            Result result = runJar(args);
            assertEquals(2, result.status, String.join(" ", args) + ": " + result.stderr);
            assertTrue(result.stderr.contains("usage:"), result.stderr);
            assertEquals("", result.stdout, "nothing on stdout");
        }
        Result help = runJar("--help");
        assertEquals(0, help.status);
        assertTrue(help.stdout.contains("--mode MODE"), help.stdout);
    }

    private static final class Result {
        final int status;
        final String stdout;
        final String stderr;

        Result(int status, String stdout, String stderr) {
            this.status = status;
            this.stdout = stdout;
            this.stderr = stderr;
        }
    }

    private static Result runJar(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ServerProcess.javaExecutable(), "-jar",
                ServerProcess.jar().toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out, err);
    }
}
