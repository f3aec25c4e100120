package io.ktls.handler.internal.kernel;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs {@link ControlRecordSenderMain} in a child JVM of JDK 22 or later, because the build's JVM is JDK 17. The
 * JDK is {@code -Dktls.test.jdk22=<java home>} when given, else the newest JDK 22+ under {@code /usr/lib/jvm}
 * (a {@code release} file with {@code JAVA_VERSION}); none is a failure, since the build machines have one.
 */
class ControlRecordSenderForeignCallTest {
    private static final String JDK_PROPERTY = "ktls.test.jdk22";
    private static final long CHILD_TIMEOUT_SECONDS = 60;

    @Test
    void sendmsgDeliversThePayloadAndReturnsMinusErrno() throws Exception {
        Jdk jdk = jdk22();
        Child child = run(jdk, "send", "--enable-native-access=ALL-UNNAMED");
        assertEquals(0, child.exitCode, child.output);
        assertTrue(child.output.contains("peer read [1, 0]"), child.output);
        assertTrue(child.output.contains("fd -1: -9"), child.output);
        assertTrue(child.output.contains(": -11"), child.output);
        assertTrue(child.output.contains("OK send on JDK " + jdk.version), child.output);
        // With native access enabled the JDK has nothing to warn about (without it: "WARNING: A restricted method
        // in java.lang.foreign.Linker has been called", on stderr, once).
        assertFalse(child.output.contains("restricted method"), child.output);
    }

    @Test
    void deniedNativeAccessLeavesNoSenderAndAReason() throws Exception {
        Jdk jdk = jdk22();
        Assumptions.assumeTrue(jdk.feature >= 24,
                "--illegal-native-access=deny needs JDK 24+, found only " + jdk.version + " at " + jdk.home);
        Child child = run(jdk, "denied", "--illegal-native-access=deny");
        assertEquals(0, child.exitCode, child.output);
        assertTrue(child.output.contains("unavailable: java.lang.foreign could not link sendmsg: "
                                         + "java.lang.IllegalCallerException"), child.output);
        assertTrue(child.output.contains("OK denied on JDK " + jdk.version), child.output);
    }

    private static Child run(Jdk jdk, String mode, String nativeAccess) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(jdk.home.resolve("bin").resolve("java").toString());
        command.add(nativeAccess);
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-Dio.netty.leakDetection.level=paranoid");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ControlRecordSenderMain.class.getName());
        command.add(mode);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
        if (!process.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("the child JVM did not finish in " + CHILD_TIMEOUT_SECONDS + " s: " + command + "\n"
                 + output.get(5, TimeUnit.SECONDS));
        }
        return new Child(process.exitValue(), output.get(5, TimeUnit.SECONDS));
    }

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(output unreadable: " + e + ")";
        }
    }

    private static Jdk jdk22() throws IOException {
        String configured = System.getProperty(JDK_PROPERTY);
        if (configured != null && !configured.isEmpty()) {
            Optional<Jdk> jdk = Jdk.at(Path.of(configured));
            if (jdk.isEmpty() || jdk.get().feature < 22) {
                fail("-D" + JDK_PROPERTY + "=" + configured + " is not the home of a JDK 22+ (no release file with "
                     + "JAVA_VERSION >= 22)");
            }
            return jdk.get();
        }
        List<Jdk> found = new ArrayList<>();
        Jdk.at(Path.of(System.getProperty("java.home"))).ifPresent(found::add);
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> homes = Files.list(jvms)) {
                homes.map(Jdk::at).flatMap(Optional::stream).forEach(found::add);
            }
        }
        return found.stream()
                    .filter(jdk -> jdk.feature >= 22 && Files.isExecutable(jdk.home.resolve("bin/java")))
                    .max(Comparator.comparingInt(jdk -> jdk.feature))
                    .orElseGet(() -> fail("ControlRecordSender needs a JDK 22+ to be tested and none was found: "
                                          + "none under /usr/lib/jvm (found " + found + "), and -D" + JDK_PROPERTY
                                          + " not set. Install one (the build machines have Temurin 25) or point -D"
                                          + JDK_PROPERTY + " at its home."));
    }

    private record Child(int exitCode, String output) {
    }

    private record Jdk(Path home, String version, int feature) {
        static Optional<Jdk> at(Path home) {
            Path release = home.resolve("release");
            if (!Files.isRegularFile(release)) {
                return Optional.empty();
            }
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(release)) {
                properties.load(in);
            } catch (IOException e) {
                return Optional.empty();
            }
            String version = properties.getProperty("JAVA_VERSION", "").replace("\"", "");
            try {
                return Optional.of(new Jdk(home, version, Runtime.Version.parse(version).feature()));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        }

        @Override
        public String toString() {
            return version + " at " + home;
        }
    }
}
