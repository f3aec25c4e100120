package io.ktls.testing;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadDumpOnTimeoutTest {

    @Test
    void aTimeoutFailureCarriesTheDumpOfThisJvmAndOfItsChildJvms() throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Sleeper.class.getName())
                .redirectErrorStream(true).start();
        CountDownLatch parked = new CountDownLatch(1);
        Thread waiting = new Thread(() -> {
            parked.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // the test is done
            }
        }, "waiting-in-this-jvm");
        waiting.start();
        try {
            assertEquals('r', child.getInputStream().read(), "the child's ready mark");
            parked.await();
            TimeoutException timeout = new TimeoutException();
            Throwable failure = ThreadDumpOnTimeout.attachDumps(timeout);

            assertSame(timeout, failure);
            assertEquals(1, failure.getSuppressed().length);
            String dumps = failure.getSuppressed()[0].getMessage();
            assertTrue(dumps.contains("\"waiting-in-this-jvm\""), dumps);
            assertTrue(dumps.contains("java.lang.Thread.sleep"), dumps);
            assertTrue(dumps.contains("=== process " + child.pid()), dumps);
            assertTrue(dumps.contains("\"sleeping-in-the-child\""), dumps);
        } finally {
            waiting.interrupt();
            child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTimeoutQuotedInAnAssertionsMessageOrDeepInTheCausesCounts() {
        AssertionError quoted = new AssertionError("exit status 1: error: cannot read the server's STATS line: "
                + "io.netty.handler.ssl.SslHandshakeTimeoutException: handshake timed out after 10000ms");
        assertTrue(ThreadDumpOnTimeout.isTimeout(quoted));
        assertTrue(ThreadDumpOnTimeout.isTimeout(new ExecutionException(new RuntimeException(
                new java.net.SocketTimeoutException()))));
        RuntimeException withSuppressed = new RuntimeException("close failed");
        withSuppressed.addSuppressed(new AssertionError("no exit within 30 s of SIGTERM"));
        assertTrue(ThreadDumpOnTimeout.isTimeout(withSuppressed));
    }

    @Test
    void anyOtherFailureIsLeftAsItIs() {
        AssertionError failure = new AssertionError("expected: <200> but was: <404>",
                new IllegalStateException("closed"));
        assertSame(failure, ThreadDumpOnTimeout.attachDumps(failure));
        assertEquals(List.of(), List.of(failure.getSuppressed()));
        assertFalse(ThreadDumpOnTimeout.isTimeout(failure));
    }

    /** A child JVM with a recognisable thread: prints 'r' once the thread sleeps. */
    static final class Sleeper {
        public static void main(String[] args) throws Exception {
            Thread sleeping = new Thread(() -> {
                try {
                    Thread.sleep(120_000);
                } catch (InterruptedException e) {
                    // ended by the test
                }
            }, "sleeping-in-the-child");
            sleeping.start();
            while (sleeping.getState() != Thread.State.TIMED_WAITING) {
                Thread.sleep(10);
            }
            System.out.print('r');
            System.out.flush();
            sleeping.join();
        }
    }
}
