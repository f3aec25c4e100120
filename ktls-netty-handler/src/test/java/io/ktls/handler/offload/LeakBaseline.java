package io.ktls.handler.offload;

import io.ktls.allocator.PageRunAllocatorMetric;
import io.ktls.handler.KtlsMetric;
import io.netty.channel.FileRegion;

import java.util.Collection;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The process-wide counts a download test starts from (records in flight, active sessions), and the checks that
 * what the test took came back: records, sessions, the allocator's runs, the file regions. Records and runs come
 * back on workers and event loops after the futures a test waits on complete, so the checks wait up to 10 s.
 */
final class LeakBaseline {

    private final long recordsInFlight;
    private final long activeSessions;

    private LeakBaseline(long recordsInFlight, long activeSessions) {
        this.recordsInFlight = recordsInFlight;
        this.activeSessions = activeSessions;
    }

    /** The counts now, before the test opens any connection. */
    static LeakBaseline take() {
        return new LeakBaseline(KtlsMetric.global().recordsInFlight(), KtlsMetric.global().activeSessions());
    }

    /** Waits until every record handed to a sealer has come back and been accounted for. */
    void awaitRecordsReturned() throws InterruptedException {
        assertTrue(eventually(() -> KtlsMetric.global().recordsInFlight() == recordsInFlight),
                "records still in flight: " + (KtlsMetric.global().recordsInFlight() - recordsInFlight));
    }

    /** Waits until the test's sessions have ended: a channel's close future completes before channelInactive. */
    void awaitSessionsEnded() throws InterruptedException {
        assertTrue(eventually(() -> KtlsMetric.global().activeSessions() == activeSessions),
                "sessions still active: " + (KtlsMetric.global().activeSessions() - activeSessions));
    }

    void assertRecordsReturned() {
        assertEquals(recordsInFlight, KtlsMetric.global().recordsInFlight());
    }

    void assertSessionsEnded() {
        assertEquals(activeSessions, KtlsMetric.global().activeSessions());
    }

    /** Waits until the allocator has every run and byte back. */
    static void awaitAllocatorDrained(PageRunAllocatorMetric metric) throws InterruptedException {
        assertTrue(eventually(() -> metric.inFlightRuns() == 0 && metric.inFlightBytes() == 0),
                "allocator still has buffers out: " + metric.inFlightRuns() + " runs, " + metric.inFlightBytes()
                        + " bytes");
    }

    static void assertReleased(Collection<? extends FileRegion> regions) {
        for (FileRegion region : regions) {
            assertEquals(0, region.refCnt(), "file region not released");
        }
    }

    /** Whether {@code condition} holds within 10 s, polled every 10 ms. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
