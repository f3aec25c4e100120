package io.ktls.examples.kernel;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Linux guest with kernel TLS, booted under {@code qemu-system-x86_64} (software emulation) to run one bash
 * script as root; the machine running the tests may have no {@code tls} module and no {@code /dev/kvm}. The
 * guest is Debian's kernel with a busybox initramfs, built by {@code .ci/kernel-guest/prepare.sh} (once per
 * JVM, here) and booted by {@code .ci/kernel-guest/run.sh}; docs/kernel-guest.md describes both.
 *
 * <p>Inside the guest the script sees this machine's filesystem read-only at the same paths, so it can run the
 * packaged jar, the JDKs under {@code /usr/lib/jvm}, curl and openssl in place. {@code /tmp}, {@code /run},
 * {@code /var/tmp} and {@code /dev/shm} are the guest's own (empty tmpfs: host files there are hidden),
 * {@code HOME} is {@code /tmp/home}, and the out directory is the one place shared for writing: mounted at its
 * host path and named by {@code $KTLS_GUEST_OUT}. {@code JAVA_HOME} is the JVM running the tests.
 *
 * <p>Used from the test thread only; the prepare-once flag is guarded by the class lock.
 */
public final class GuestVm {

    /** Time for prepare.sh on a cold machine: apt-get install, a 70 MB kernel package, the initramfs. */
    private static final Duration PREPARE_TIMEOUT = Duration.ofMinutes(10);
    /** Time run.sh gets beyond the guest's own timeout to kill qemu and report. */
    private static final Duration RUN_GRACE = Duration.ofSeconds(30);

    private static String kernelVersion;

    private GuestVm() {
    }

    /** What one guest run left behind. */
    public record Result(int exitCode, String console, Path outDir) {

        /** A file the guest script wrote into its out directory. */
        public String read(String name) throws IOException {
            return Files.readString(outDir.resolve(name), StandardCharsets.UTF_8);
        }
    }

    /**
     * Boots the guest, runs {@code script} (a host path: the guest sees the same one) with {@code args}, and
     * waits for it to power off.
     *
     * @param outDir  host directory the guest may write (created if missing); run.sh keeps its console log and
     *                generated files in {@code outDir/.ktls-guest/}, and this method the whole run's output in
     *                {@code outDir/run.log}. Must not be the only copy of anything: the guest writes as root.
     * @param timeout time for the guest run, boot included; qemu is killed after it and the run fails
     * @param env     variables for the guest script (on top of PATH, JAVA_HOME, HOME, TMPDIR, KTLS_GUEST_OUT)
     * @return the guest script's exit code and the console output, or exit code 124 when the guest never
     *         reported one (crashed, or timed out)
     */
    public static Result run(Path script, Path outDir, Duration timeout, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        prepare();
        Path out = Files.createDirectories(outDir).toAbsolutePath();
        Path log = out.resolve("run.log");
        List<String> command = new ArrayList<>();
        command.add(repositoryRoot().resolve(".ci/kernel-guest/run.sh").toString());
        command.add(script.toAbsolutePath().toString());
        command.add(out.toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> processEnv = builder.environment();
        processEnv.putAll(env);
        processEnv.put("KTLS_GUEST_PASS", String.join(" ", env.keySet()));
        processEnv.put("KTLS_GUEST_TIMEOUT", Long.toString(Math.max(1, timeout.toSeconds())));
        processEnv.put("JAVA_HOME", System.getProperty("java.home"));
        Process process = builder.start();
        if (!process.waitFor(timeout.plus(RUN_GRACE).toMillis(), TimeUnit.MILLISECONDS)) {
            stop(process, out);
            throw new AssertionError("run.sh did not return within " + timeout.plus(RUN_GRACE) + ":\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8), out);
    }

    /** The guest kernel's release ({@code uname -r} inside the guest), e.g. {@code 6.1.0-57-amd64}. */
    public static synchronized String kernelVersion() throws IOException, InterruptedException {
        prepare();
        return kernelVersion;
    }

    /** Runs prepare.sh once per JVM, so a cold machine's downloads do not count against a guest's timeout. */
    private static synchronized void prepare() throws IOException, InterruptedException {
        if (kernelVersion != null) {
            return;
        }
        // Output to a file, not a pipe: a hung apt-get must not block us past the timeout.
        Path log = Files.createTempFile("ktls-guest-prepare", ".log");
        Process process = new ProcessBuilder(repositoryRoot().resolve(".ci/kernel-guest/prepare.sh").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean finished = process.waitFor(PREPARE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (!finished) {
            process.destroyForcibly().waitFor();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        if (!finished) {
            throw new AssertionError("prepare.sh did not finish within " + PREPARE_TIMEOUT + ":\n" + output);
        }
        if (process.exitValue() != 0) {
            throw new AssertionError("prepare.sh failed (exit " + process.exitValue() + "):\n" + output);
        }
        // The cache folder is named after the kernel: <cache>/<release>/vmlinuz.
        String vmlinuz = output.lines().filter(l -> l.startsWith("vmlinuz=")).findFirst()
                .orElseThrow(() -> new AssertionError("prepare.sh printed no vmlinuz= line:\n" + output));
        kernelVersion = Path.of(vmlinuz.substring("vmlinuz=".length())).getParent().getFileName().toString();
    }

    /** run.sh kills qemu on SIGTERM; qemu's pid file covers a run.sh that could not. */
    private static void stop(Process process, Path out) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
        try {
            long qemu = Long.parseLong(Files.readString(out.resolve(".ktls-guest/qemu.pid")).strip());
            ProcessHandle.of(qemu)
                    .filter(h -> h.info().command().map(c -> c.contains("qemu-system")).orElse(false))
                    .ifPresent(ProcessHandle::destroyForcibly);
        } catch (IOException | NumberFormatException gone) {
            // No pid file: qemu never started or run.sh already removed it.
        }
    }

    /**
     * The repository's root: the first folder, from the working directory up, holding
     * {@code .ci/kernel-guest/run.sh} (surefire and failsafe run in {@code examples/}).
     */
    public static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve(".ci/kernel-guest/run.sh"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no .ci/kernel-guest/run.sh above " + Path.of("").toAbsolutePath());
    }
}
