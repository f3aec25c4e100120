package io.ktls.examples.kernel;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel guest ({@link GuestVm}) is fit for the kernel-TLS tests: it runs Debian's kernel with the
 * {@code tls} module, this machine's JDKs, curl and openssl work in it over loopback, and a peer we did not
 * write (OpenSSL's {@code s_server -sendfile} with its KTLS option) makes the kernel's TLS TX counter move.
 * The checks themselves are in {@code src/test/kernel-guest/smoke.sh}; here we read what it wrote.
 *
 * <p>Tagged {@code kernel-smoke}, excluded from the default run (the kernel TLS test, {@code KernelTlsGuestIT},
 * needs what it checks, and says so when it fails): {@code mvn -pl examples -am test -Dtest.groups=kernel-smoke
 * -Dtest.excludedGroups=} runs it alone, when the guest itself is in doubt (docs/kernel-guest.md).
 */
@Tag("kernel-smoke")
class KernelGuestSmokeTest {

    private static final List<String> CHECKS = List.of("kernel-tls-module", "kernel", "peers", "java-17",
            "java-25", "certificate", "loopback-tls", "openssl-ktls-tx");
    private static final Pattern TX_SW = Pattern.compile("TlsTxSw before (\\d+), after (\\d+)");

    @Test
    void guestRunsDebiansKernelWithTlsAndTheHostsTools() throws Exception {
        Path script = GuestVm.repositoryRoot().resolve("examples/src/test/kernel-guest/smoke.sh");
        Path out = Path.of("target", "kernel-guest", "smoke").toAbsolutePath();
        deleteRecursively(out);

        GuestVm.Result result = GuestVm.run(script, out, Duration.ofMinutes(5),
                Map.of("KTLS_HOST_KERNEL", System.getProperty("os.version")));

        assertEquals(0, result.exitCode(), result.console());
        assertEquals(CHECKS.stream().map(c -> "ok " + c).toList(), result.read("results").lines().toList(),
                result.console());
        assertEquals(GuestVm.kernelVersion(), result.read("kernel.log").strip());
        assertTrue(result.read("kernel-tls-module.log").contains("TlsTxSw"), result.read("kernel-tls-module.log"));
        assertTrue(result.read("java-17.log").contains("version \"17"), result.read("java-17.log"));
        assertTrue(result.read("java-25.log").contains("version \"25"), result.read("java-25.log"));
        String ktls = result.read("openssl-ktls-tx.log");
        assertTrue(ktls.contains("KTLS SENDFILE 'payload' OK"), ktls);
        Matcher txSw = TX_SW.matcher(ktls);
        assertTrue(txSw.find(), ktls);
        assertTrue(Long.parseLong(txSw.group(2)) > Long.parseLong(txSw.group(1)), ktls);
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
