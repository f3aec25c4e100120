package io.ktls.examples.fileserver;

import io.ktls.examples.testing.Curl;
import io.ktls.examples.testing.ServerProcess;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The file server with several certificates (chosen by the name curl sends) and with a certificate replaced on
 * disk while it runs (new connections get the new one, a bad file is refused and the last good one stays), told
 * by the subject of the certificate curl was shown; SIGHUP reloads them all.
 */
@Tag("interop")
class FileServerCertificatesIT {

    private static X509Bundle ca;

    @TempDir
    Path dir;

    @BeforeAll
    static void authority() throws Exception {
        Instant now = Instant.now();
        ca = new CertificateBuilder().notBefore(now.minus(1, ChronoUnit.DAYS)).notAfter(now.plus(2, ChronoUnit.DAYS))
                .subject("CN=file server test CA").setIsCertificateAuthority(true).ecp256().buildSelfSigned();
    }

    /** Writes a certificate for {@code name} (issued by the test CA) and its key; returns {cert, key}. */
    private Path[] certificate(String file, String name, String subject) throws Exception {
        Instant now = Instant.now();
        X509Bundle bundle = new CertificateBuilder().notBefore(now.minus(1, ChronoUnit.DAYS))
                .notAfter(now.plus(2, ChronoUnit.DAYS)).addExtendedKeyUsageServerAuth().addSanDnsName(name)
                .subject("CN=" + subject).ecp256().buildIssuedBy(ca);
        Path cert = dir.resolve(file + ".crt");
        Path key = dir.resolve(file + ".key");
        // Written aside and renamed over: a reload never sees half a file.
        Path certTmp = Files.writeString(dir.resolve(file + ".crt.tmp"), bundle.getCertificatePathPEM());
        Path keyTmp = Files.writeString(dir.resolve(file + ".key.tmp"), bundle.getPrivateKeyPEM());
        Files.move(keyTmp, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.move(certTmp, cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return new Path[] {cert, key};
    }

    private Path root() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Files.writeString(root.resolve("a.txt"), "hello\n");
        return root;
    }

    /** curl to {@code name} (resolved to 127.0.0.1, so it is sent as SNI); the subject it was shown. */
    private String fetchSubject(ServerProcess server, String name) throws Exception {
        Curl.Response response = Curl.fetch(dir, "https://" + name + ':' + server.port() + "/a.txt",
                "--resolve", name + ':' + server.port() + ":127.0.0.1", "-v");
        assertEquals(200, response.status, response.stderr);
        assertEquals("hello\n", response.bodyText());
        for (String line : response.stderr.split("\n")) {
            int at = line.indexOf("subject: ");
            if (at >= 0) {
                return line.substring(at + "subject: ".length()).trim();
            }
        }
        throw new AssertionError("no subject in curl's output:\n" + response.stderr);
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler"})
    void eachNameIsServedWithItsOwnCertificate(String mode) throws Exception {
        Path[] fallback = certificate("default", "default.test", "default.test");
        Path[] a = certificate("a", "a.test", "a.test");
        Path[] b = certificate("b", "b.test", "b.test");
        List<String> args = new ArrayList<>(List.of("--root", root().toString(), "--port", "0", "--mode", mode));
        for (Path[] pair : List.of(fallback, a, b)) {
            args.addAll(List.of("--cert", pair[0].toString(), "--key", pair[1].toString()));
        }
        try (ServerProcess server = ServerProcess.startFileServer(args.toArray(new String[0]))) {
            assertEquals("CN=a.test", fetchSubject(server, "a.test"));
            assertEquals("CN=b.test", fetchSubject(server, "b.test"));
            assertEquals("CN=default.test", fetchSubject(server, "other.test"), "a name no certificate has");
            assertEquals(0, server.terminate(), server.stderr());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload"})
    void aReplacedCertificateReachesNewConnectionsAndABadOneIsRefused(String mode) throws Exception {
        Path[] pair = certificate("site", "site.test", "first");
        try (ServerProcess server = ServerProcess.startFileServer("--root", root().toString(), "--port", "0",
                "--mode", mode, "--cert", pair[0].toString(), "--key", pair[1].toString())) {
            assertEquals("CN=first", fetchSubject(server, "site.test"));

            certificate("site", "site.test", "second");
            assertEquals("CN=second", awaitSubject(server, "site.test", "CN=second"));

            Files.writeString(pair[0], "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
            awaitLog(server, "certificate refused");
            assertEquals("CN=second", fetchSubject(server, "site.test"), "the last good certificate stays");

            certificate("site", "site.test", "third");
            assertEquals("CN=third", awaitSubject(server, "site.test", "CN=third"));

            // SIGHUP reloads every pair, changed or not.
            int reloadsBefore = count(server.stderr(), "certificate reloaded");
            Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(server.pid())).start();
            assertEquals(0, hup.waitFor());
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (count(server.stderr(), "certificate reloaded") == reloadsBefore) {
                assertTrue(System.nanoTime() < deadline, "no reload after SIGHUP; stderr:\n" + server.stderr());
                Thread.sleep(100);
            }
            assertEquals("CN=third", fetchSubject(server, "site.test"));
            assertEquals(0, server.terminate(), server.stderr());
        }
    }

    private String awaitSubject(ServerProcess server, String name, String expected) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        String subject;
        do {
            subject = fetchSubject(server, name);
            if (subject.equals(expected)) {
                return subject;
            }
            Thread.sleep(250);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("still " + subject + " after 20 s; stderr:\n" + server.stderr());
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            n++;
        }
        return n;
    }

    private static void awaitLog(ServerProcess server, String text) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!server.stderr().contains(text)) {
            assertTrue(System.nanoTime() < deadline, "no '" + text + "' in 20 s; stderr:\n" + server.stderr());
            Thread.sleep(250);
        }
    }
}
