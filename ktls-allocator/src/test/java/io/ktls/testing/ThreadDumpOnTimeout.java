package io.ktls.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

import java.io.IOException;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * When a test (or a {@code @BeforeAll}, {@code @BeforeEach}, ... method) fails with a timeout, attaches thread
 * dumps to the failure: of this JVM, and of every Java process this JVM started that is still running (the
 * example servers of the end-to-end tests, through {@code jcmd PID Thread.print}). A stuck event loop, a
 * handshake nobody answers or a lost wake-up then shows where each thread was, instead of only "timed out".
 *
 * <p>Registered for every test through JUnit's extension auto-detection (see {@code junit-platform.properties}).
 * The dumps travel as a suppressed exception of the failure, so surefire and failsafe print them with it. JUnit
 * calls these handlers before {@code @AfterEach}/{@code @AfterAll}, so processes those methods stop are still
 * alive here; a process closed by the test method itself (try-with-resources) is gone: such a test dumps it
 * where it notices the failure ({@code ServerProcess.threadDump()} in the examples).
 *
 * <p>A timeout is any throwable in the failure's chain (causes and suppressed) whose class name contains
 * "Timeout" ({@code TimeoutException}, {@code SocketTimeoutException}, Netty's
 * {@code SslHandshakeTimeoutException}...) or whose message says "timed out", "timeout" or "no exit within"
 * (an assertion that quotes a child process's error output).
 */
public final class ThreadDumpOnTimeout implements TestExecutionExceptionHandler,
        LifecycleMethodExecutionExceptionHandler {

    /** How long one {@code jcmd} may take; a process that cannot answer is reported as such. */
    private static final long JCMD_TIMEOUT_SECONDS = 20;

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        throw attachDumps(throwable);
    }

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw attachDumps(throwable);
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw attachDumps(throwable);
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw attachDumps(throwable);
    }

    @Override
    public void handleAfterAllMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw attachDumps(throwable);
    }

    /** {@code failure}, with the thread dumps added as a suppressed exception if it is a timeout. */
    static Throwable attachDumps(Throwable failure) {
        if (isTimeout(failure)) {
            failure.addSuppressed(new ThreadDumps("thread dumps taken when the timeout was reported:\n"
                    + ofThisJvm() + ofChildJvms()));
        }
        return failure;
    }

    /** True if {@code failure}, one of its causes or one of their suppressed exceptions is a timeout. */
    public static boolean isTimeout(Throwable failure) {
        return isTimeout(failure, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    private static boolean isTimeout(Throwable t, Set<Throwable> seen) {
        if (t == null || !seen.add(t)) {
            return false;
        }
        if (t.getClass().getName().contains("Timeout")) {
            return true;
        }
        String message = t.getMessage();
        if (message != null) {
            String lower = message.toLowerCase(Locale.ROOT);
            if (lower.contains("timed out") || lower.contains("timeout") || lower.contains("no exit within")) {
                return true;
            }
        }
        for (Throwable suppressed : t.getSuppressed()) {
            if (isTimeout(suppressed, seen)) {
                return true;
            }
        }
        return isTimeout(t.getCause(), seen);
    }

    /** Every thread of this JVM with its full stack, the locks it holds and the one it waits for. */
    public static String ofThisJvm() {
        StringBuilder out = new StringBuilder("=== this JVM (pid ").append(ProcessHandle.current().pid())
                .append(") ===\n");
        for (ThreadInfo thread : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            out.append('"').append(thread.getThreadName()).append("\" #").append(thread.getThreadId())
                    .append(' ').append(thread.getThreadState());
            if (thread.getLockName() != null) {
                out.append(" on ").append(thread.getLockName());
            }
            if (thread.getLockOwnerName() != null) {
                out.append(" owned by \"").append(thread.getLockOwnerName()).append('"');
            }
            out.append('\n');
            StackTraceElement[] stack = thread.getStackTrace();
            for (int i = 0; i < stack.length; i++) {
                out.append("\tat ").append(stack[i]).append('\n');
                for (MonitorInfo monitor : thread.getLockedMonitors()) {
                    if (monitor.getLockedStackDepth() == i) {
                        out.append("\t- locked ").append(monitor).append('\n');
                    }
                }
            }
            for (LockInfo lock : thread.getLockedSynchronizers()) {
                out.append("\t- holds ").append(lock).append('\n');
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** {@code jcmd PID Thread.print} of each running Java process this JVM started (directly or not). */
    public static String ofChildJvms() {
        List<ProcessHandle> children = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .collect(Collectors.toList());
        StringBuilder out = new StringBuilder();
        for (ProcessHandle child : children) {
            out.append("=== process ").append(child.pid()).append(' ')
                    .append(child.info().commandLine().orElse("")).append(" ===\n")
                    .append(ofProcess(child.pid())).append('\n');
        }
        return out.toString();
    }

    /** {@code jcmd pid Thread.print} of another JVM, or why it could not be taken. */
    public static String ofProcess(long pid) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Path output = null;
        try {
            output = Files.createTempFile("ktls-thread-dump-", ".txt");
            Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "Thread.print", "-l")
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!process.waitFor(JCMD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return "(jcmd " + pid + " Thread.print gave no answer within " + JCMD_TIMEOUT_SECONDS + " s)\n";
            }
            return Files.readString(output, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no thread dump of " + pid + ": " + e + ")\n";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(thread dump of " + pid + " interrupted)\n";
        } finally {
            if (output != null) {
                try {
                    Files.deleteIfExists(output);
                } catch (IOException e) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }

    /** Carries the dumps; its message is the dump, its own stack trace says nothing and is left out. */
    static final class ThreadDumps extends Exception {
        private static final long serialVersionUID = 1L;

        ThreadDumps(String dumps) {
            super(dumps, null, false, false);
        }
    }
}
