package io.ktls.examples.kernel;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel TLS path for real: the packaged file server inside a Linux guest whose kernel has the {@code tls}
 * module ({@link GuestVm}), with {@code --mode auto} before the module is loaded (the kernel refuses, the bytes
 * come from the user-space record layer) and {@code --mode kernel} after, on JDK 17 and JDK 25; curl and the JDK's
 * {@code HttpClient} download every file size and suite byte for byte, and {@code /proc/net/tls_stat} counts a
 * kernel transmit session per connection. The checks are in {@code src/test/kernel-guest/kernel-tls.sh}; here we
 * read what it wrote.
 *
 * <p>Tagged {@code kernel}, part of the default run (about two and a half minutes, most of it the JVM under
 * emulation); {@code mvn -pl examples -am verify -Dtest.groups=kernel -Dtest=NoSuchTest
 * -Dsurefire.failIfNoSpecifiedTests=false} runs it alone (docs/kernel-guest.md).
 */
@Tag("kernel")
class KernelTlsGuestIT {

    private static final List<String> CHECKS = List.of("files", "fallback", "load-tls", "kernel-jdk17",
            "kernel-jdk25");

    @Test
    void fileServerHandsItsKeysToTheGuestKernelAndServesExactBytes() throws Exception {
        Path script = GuestVm.repositoryRoot().resolve("examples/src/test/kernel-guest/kernel-tls.sh");
        Path jar = Path.of(System.getProperty("ktls.examples.jar", "target/ktls-file-server.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), "the packaged file server: " + jar);
        Path out = Path.of("target", "kernel-guest", "kernel-tls").toAbsolutePath();
        deleteRecursively(out);

        GuestVm.Result result = GuestVm.run(script, out, Duration.ofMinutes(20),
                Map.of("KTLS_EXAMPLES_JAR", jar.toString(), "KTLS_GUEST_DEFER_MODULES", "tls"));

        assertEquals(CHECKS.stream().map(c -> "ok " + c).toList(), result.read("results").lines().toList(),
                result.console());
        assertEquals(0, result.exitCode(), result.console());
        String kernel = result.read("kernel-jdk17.log");
        // 6 suites x 6 sizes, each downloaded by curl and by the JDK's client.
        assertEquals(36, kernel.lines().filter(l -> l.startsWith("curl ok: ")).count(), kernel);
        assertEquals(36, kernel.lines().filter(l -> l.startsWith("jdk-download ok ")).count(), kernel);
        assertTrue(kernel.contains("10485767 of 10485767 bytes: TLSv1.2:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
                kernel);
        // A KeyUpdate request ends the connection (kernel TLS cannot send ours) instead of going unanswered.
        assertTrue(kernel.contains("KEYUPDATE") && kernel.contains("asked for a KeyUpdate, which kernel TLS cannot"),
                kernel);
        assertTrue(result.read("fallback.log").contains("refusals (no tls module)"), result.read("fallback.log"));
        assertTrue(result.read("kernel-jdk25.log").contains("close_notify from the server (JDK 25, sendmsg)"),
                result.read("kernel-jdk25.log"));
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
