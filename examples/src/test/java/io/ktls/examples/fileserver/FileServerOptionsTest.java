package io.ktls.examples.fileserver;

import io.ktls.examples.cli.UsageException;
import io.ktls.examples.tls.ServerCertificates;
import io.ktls.examples.tls.ServerMode;
import io.ktls.examples.transport.Transport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileServerOptionsTest {

    @TempDir
    Path dir;

    @Test
    void defaultsAreThoseOfThePublishedContract() throws Exception {
        FileServerOptions o = FileServerOptions.parse();
        assertEquals(Path.of(""), o.root);
        assertEquals("127.0.0.1", o.connection.host());
        assertEquals(8443, o.connection.port());
        assertEquals(ServerMode.OFFLOAD, o.connection.mode());
        assertEquals(Runtime.getRuntime().availableProcessors(), o.connection.workers());
        assertEquals(Transport.AUTO, o.connection.transport());
        assertEquals(60, o.idleTimeoutSeconds);
        assertTrue(o.accessLogOn);
        assertNull(o.accessLogFile);
        assertEquals(0, o.connection.recordMemoryBytes(), "0: a quarter of the direct memory limit");
        assertNull(o.connection.cert());
        assertNull(o.connection.protocols());
        assertNull(o.connection.ciphers());
    }

    @Test
    void everyOptionIsReadInBothSpellings() throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "x");
        Path key = Files.writeString(dir.resolve("k.pem"), "x");
        FileServerOptions o = FileServerOptions.parse("--root", dir.toString(), "--host=::1", "--port", "0",
                "--cert", cert.toString(), "--key=" + key, "--mode", "sslhandler", "--workers", "3",
                "--transport", "io_uring", "--idle-timeout", "5", "--record-memory", "256m", "--handshake-timeout", "60", "--protocols", "TLSv1.3,TLSv1.2",
                "--ciphers", "TLS_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM-SHA256");
        assertEquals(dir, o.root);
        assertEquals("::1", o.connection.host());
        assertEquals(0, o.connection.port());
        assertEquals(cert, o.connection.cert());
        assertEquals(key, o.connection.key());
        assertEquals(ServerMode.SSLHANDLER, o.connection.mode());
        assertEquals(3, o.connection.workers());
        assertEquals(Transport.IO_URING, o.connection.transport());
        assertEquals(5, o.idleTimeoutSeconds);
        assertEquals(256L << 20, o.connection.recordMemoryBytes());
        assertEquals(60, o.connection.handshakeTimeoutSeconds());
        assertEquals(10, FileServerOptions.parse().connection.handshakeTimeoutSeconds(), "Netty's default");
        assertEquals(65536, FileServerOptions.parse("--record-memory=64k").connection.recordMemoryBytes());
        assertEquals(0, FileServerOptions.parse("--idle-timeout=0").idleTimeoutSeconds);
        assertEquals(List.of("TLSv1.3", "TLSv1.2"), o.connection.protocols());
        assertEquals(List.of("TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"), o.connection.ciphers());
        for (String mode : new String[] {"offload", "inline", "kernel", "auto", "sslhandler", "plain"}) {
            assertEquals(mode, FileServerOptions.parse("--mode", mode).connection.mode().toString());
        }
        assertTrue(FileServerOptions.parse("--help").help);
    }

    @Test
    void badOptionsAreRefusedWithAMessageNamingThem() {
        assertMessage("unknown option: --bogus", "--bogus");
        assertMessage("--port: 65536 (expected: 0..65535)", "--port", "65536");
        assertMessage("--port: not a number: http", "--port", "http");
        assertMessage("--port needs a value", "--port");
        assertMessage("--mode: fast (expected one of: offload, inline, kernel, auto, sslhandler, plain)", "--mode", "fast");
        assertMessage("--transport: kqueue (expected one of: auto, nio, epoll, io_uring)", "--transport", "kqueue");
        assertMessage("--workers: 0 (expected: 1..1024)", "--workers", "0");
        assertMessage("--record-memory: not a positive byte count: 0 (expected e.g. 4096, 64k, 16m, 1g)",
                "--record-memory", "0");
        assertMessage("--idle-timeout: -1 (expected: 0..86400)", "--idle-timeout", "-1");
        assertMessage("--idle-timeout: not a number: 1m", "--idle-timeout", "1m");
        assertMessage("--root: not a directory: /nonexistent-dir", "--root", "/nonexistent-dir");
        assertMessage("--cert: not a readable file: /nonexistent", "--cert", "/nonexistent");
        assertMessage("--protocols: empty entry in list: TLSv1.3,", "--protocols", "TLSv1.3,");
        assertMessage("--help takes no value", "--help=yes");
        assertMessage("unexpected argument: stray", "stray");
    }

    @Test
    void accessLogIsOnStderrOffOrAFileAndTheLastOneWins() throws Exception {
        FileServerOptions off = FileServerOptions.parse("--access-log", "off");
        assertFalse(off.accessLogOn);
        assertNull(off.accessLogFile);
        FileServerOptions on = FileServerOptions.parse("--access-log=off", "--access-log=on");
        assertTrue(on.accessLogOn);
        assertNull(on.accessLogFile);
        Path file = dir.resolve("access.log");
        FileServerOptions toFile = FileServerOptions.parse("--access-log", "off", "--access-log", file.toString());
        assertTrue(toFile.accessLogOn);
        assertEquals(file, toFile.accessLogFile);
        Files.writeString(file, "an earlier line\n");
        assertEquals(file, FileServerOptions.parse("--access-log", file.toString()).accessLogFile);
        assertNull(FileServerOptions.parse("--access-log", file.toString(), "--access-log", "on").accessLogFile);
    }

    @Test
    void accessLogRefusesAFolderAndAFileInAMissingFolder() {
        assertMessage("--access-log: not a writable file: " + dir + " (expected: on, off or a file)",
                "--access-log", dir.toString());
        String missing = dir.resolve("no-such-folder/access.log").toString();
        assertMessage("--access-log: not a writable file: " + missing + " (expected: on, off or a file)",
                "--access-log", missing);
        assertMessage("--access-log needs a value", "--access-log");
    }

    @Test
    void repeatedCertificateAndKeyArePairsInOrder() throws Exception {
        Path a = Files.writeString(dir.resolve("a.pem"), "x");
        Path aKey = Files.writeString(dir.resolve("a.key"), "x");
        Path b = Files.writeString(dir.resolve("b.pem"), "x");
        Path bKey = Files.writeString(dir.resolve("b.key"), "x");
        FileServerOptions o = FileServerOptions.parse("--cert", a.toString(), "--key", aKey.toString(),
                "--cert", b.toString(), "--key", bKey.toString());
        assertEquals(List.of(new ServerCertificates.KeyPairFiles(a, aKey), new ServerCertificates.KeyPairFiles(b, bKey)),
                     o.connection.keyPairs());
        assertEquals(a, o.connection.cert(), "the first pair is the default");
    }

    @Test
    void certificateAndKeyGoTogetherAndNeedTls() throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "x");
        assertMessage("--cert and --key go together, in pairs (1 --cert, 0 --key)", "--cert", cert.toString());
        assertMessage("--cert and --key go together, in pairs (2 --cert, 1 --key)", "--cert", cert.toString(),
                "--key", cert.toString(), "--cert", cert.toString());
        assertMessage("--cert, --key, --protocols and --ciphers need a TLS mode, not --mode plain",
                "--mode", "plain", "--protocols", "TLSv1.3");
    }

    @Test
    void runExitsWith2OnBadOptionsAnd0OnHelp() throws Exception {
        assertEquals(2, FileServer.run("--port", "x"));
        assertEquals(0, FileServer.run("--help"));
    }

    private static void assertMessage(String expected, String... args) {
        UsageException e = assertThrows(UsageException.class, () -> FileServerOptions.parse(args));
        assertEquals(expected, e.getMessage());
    }
}
