package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hooks are package-private, so these tests live next to them; the public view is tested in offload/. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KtlsStatsTest {

    private static final TlsCipherSuite AES128 = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final TlsCipherSuite CHACHA = TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;

    @Test
    void globalMetricIsTheGlobalStats() {
        assertSame(KtlsStats.GLOBAL, KtlsMetric.global());
    }

    @Test
    void sessionsAreCountedByModeAndSuite() {
        KtlsStats stats = new KtlsStats();
        stats.sessionStarted(AES128, true);
        stats.sessionStarted(AES128, false);
        stats.sessionStarted(CHACHA, true);
        stats.fallback();
        assertEquals(3, stats.activeSessions());
        assertEquals(2, stats.activeOffloadSessions());
        assertEquals(1, stats.activeInlineSessions());
        assertEquals(2, stats.activeSessions(AES128));
        assertEquals(1, stats.activeSessions(CHACHA));
        assertEquals(0, stats.activeSessions(TlsCipherSuite.TLS_AES_256_GCM_SHA384));

        stats.sessionEnded(AES128, true);
        stats.sessionEnded(CHACHA, true);
        assertEquals(1, stats.activeSessions());
        assertEquals(0, stats.activeOffloadSessions());
        assertEquals(1, stats.activeInlineSessions());
        assertEquals(1, stats.activeSessions(AES128));
        assertEquals(3, stats.sessionsTotal(), "ended sessions stay in the total");
        assertEquals(2, stats.offloadSessionsTotal());
        assertEquals(1, stats.fallbacks());
    }

    @Test
    void recordsAndBytesAreCountedPerSuite() {
        KtlsStats stats = new KtlsStats();
        stats.recordsSealed(AES128, 16384);
        stats.recordsSealed(AES128, 1);
        stats.recordsSealed(CHACHA, 100);
        stats.recordOpened(CHACHA, 7);
        stats.sealedInPlace();
        stats.sealedSeparate();
        stats.sealedSeparate();
        assertEquals(3, stats.recordsSealed());
        assertEquals(2, stats.recordsSealed(AES128));
        assertEquals(16385, stats.bytesSealed(AES128));
        assertEquals(16485, stats.bytesSealed());
        assertEquals(1, stats.recordsOpened());
        assertEquals(1, stats.recordsOpened(CHACHA));
        assertEquals(0, stats.recordsOpened(AES128));
        assertEquals(7, stats.bytesOpened());
        assertEquals(1, stats.recordsSealedInPlace());
        assertEquals(2, stats.recordsSealedSeparate());
    }

    @Test
    void recordsInFlightIsQueuedMinusCompleted() {
        KtlsStats stats = new KtlsStats();
        for (int i = 0; i < 5; i++) {
            stats.recordQueued();
        }
        stats.recordCompleted();
        stats.recordCompleted();
        assertEquals(5, stats.recordsQueued());
        assertEquals(3, stats.recordsInFlight());
        stats.cryptoFailure();
        stats.corruptRecord();
        stats.corruptRecord();
        assertEquals(1, stats.cryptoFailures());
        assertEquals(2, stats.corruptRecords());
    }

    @Test
    void countersAreExactUnderConcurrentUpdates() throws Exception {
        KtlsStats stats = new KtlsStats();
        int threads = 4;
        int rounds = 50_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> updaters = new ArrayList<>();
        TlsCipherSuite[] suites = TlsCipherSuite.values();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread updater = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (int i = 0; i < rounds; i++) {
                    TlsCipherSuite suite = suites[(id + i) % suites.length];
                    boolean offloaded = (i & 1) == 0;
                    stats.sessionStarted(suite, offloaded);
                    stats.recordQueued();
                    stats.recordsSealed(suite, 3);
                    stats.recordOpened(suite, 5);
                    stats.sealedSeparate();
                    stats.recordCompleted();
                    stats.sessionEnded(suite, offloaded);
                    if ((i % 100) == 0) {
                        stats.cryptoFailure();
                    }
                }
            });
            updater.start();
            updaters.add(updater);
        }
        for (Thread updater : updaters) {
            updater.join();
        }
        long total = (long) threads * rounds;
        assertEquals(0, stats.activeSessions());
        assertEquals(0, stats.activeInlineSessions());
        assertEquals(0, stats.activeOffloadSessions());
        for (TlsCipherSuite suite : suites) {
            assertEquals(0, stats.activeSessions(suite), suite.name());
        }
        assertEquals(total, stats.sessionsTotal());
        assertEquals(total / 2, stats.offloadSessionsTotal());
        assertEquals(total, stats.recordsSealed());
        assertEquals(3 * total, stats.bytesSealed());
        assertEquals(total, stats.recordsOpened());
        assertEquals(5 * total, stats.bytesOpened());
        assertEquals(total, stats.recordsSealedSeparate());
        assertEquals(total, stats.recordsQueued());
        assertEquals(0, stats.recordsInFlight());
        assertEquals(threads * (rounds / 100), stats.cryptoFailures());
        long perSuiteSum = 0;
        for (TlsCipherSuite suite : suites) {
            perSuiteSum += stats.recordsSealed(suite);
        }
        assertEquals(total, perSuiteSum);
    }

    @Test
    void toMapHasEveryCounterAndEverySuite() {
        KtlsStats stats = new KtlsStats();
        stats.recordsSealed(AES128, 10);
        stats.sessionStarted(CHACHA, false);
        Map<String, Object> map = stats.toMap();
        assertEquals(List.of("sessions", "records", "kernel", "suites", "offloadGroups", "recordMemoryBudgets"),
                new ArrayList<>(map.keySet()));
        @SuppressWarnings("unchecked")
        Map<String, Object> records = (Map<String, Object>) map.get("records");
        assertEquals(1L, records.get("sealed"));
        assertEquals(10L, records.get("bytesSealed"));
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> suites = (Map<String, Map<String, Object>>) map.get("suites");
        assertEquals(TlsCipherSuite.values().length, suites.size());
        assertEquals(1L, suites.get(CHACHA.name()).get("activeSessions"));
        assertEquals(10L, suites.get(AES128.name()).get("bytesSealed"));
        @SuppressWarnings("unchecked")
        Map<String, Object> sessions = (Map<String, Object>) map.get("sessions");
        assertEquals(1L, sessions.get("activeInline"));
        assertTrue(map.get("offloadGroups") instanceof List);
    }

    @Test
    void kernelSessionsCountApartFromInlineAndOffloadAndRefusalsByCause() {
        KtlsStats stats = new KtlsStats();
        stats.kernelSessionStarted(AES128);
        stats.sessionStarted(CHACHA, true);
        stats.kernelRefused(KernelTlsRefusal.NO_TLS_MODULE);
        stats.kernelRefused(KernelTlsRefusal.NO_TLS_MODULE);
        stats.kernelRefused(KernelTlsRefusal.TRANSPORT);
        stats.kernelBytesWritten(1000);
        stats.kernelClosedWithoutNotify();
        assertEquals(2, stats.activeSessions());
        assertEquals(1, stats.activeKernelSessions());
        assertEquals(0, stats.activeInlineSessions());
        assertEquals(1, stats.activeOffloadSessions());
        assertEquals(1, stats.activeSessions(AES128));
        assertEquals(2, stats.sessionsTotal());
        assertEquals(1, stats.kernelSessionsTotal());
        assertEquals(2, stats.kernelRefusals(KernelTlsRefusal.NO_TLS_MODULE));
        assertEquals(1, stats.kernelRefusals(KernelTlsRefusal.TRANSPORT));
        assertEquals(0, stats.kernelRefusals(KernelTlsRefusal.SUITE));
        assertEquals(1000, stats.kernelBytesWritten());
        assertEquals(1, stats.kernelCloseNotifyUnsent());
        stats.kernelSessionEnded(AES128);
        assertEquals(0, stats.activeKernelSessions());
        assertEquals(0, stats.activeSessions(AES128));
        @SuppressWarnings("unchecked")
        Map<String, Object> kernel = (Map<String, Object>) stats.toMap().get("kernel");
        assertEquals(Map.of("TRANSPORT", 1L, "NO_TLS_MODULE", 2L, "SUITE", 0L, "PENDING_WRITES", 0L, "ERROR", 0L),
                kernel.get("refusals"));
        assertEquals(1000L, kernel.get("bytesWritten"));
    }

    @Test
    void toMapShowsEachLiveRecordMemoryBudget() {
        RecordMemoryBudget budget = new RecordMemoryBudget("statsTest", 12345, 3);
        budget.forceAcquire(100);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> budgets = (List<Map<String, Object>>) new KtlsStats().toMap()
                .get("recordMemoryBudgets");
        Map<String, Object> shown = budgets.stream().filter(b -> "statsTest".equals(b.get("name"))).findFirst()
                .orElseThrow();
        assertEquals(12345L, shown.get("capacityBytes"));
        assertEquals(3, shown.get("guaranteedRecordsPerConnection"));
        assertEquals(100L, shown.get("usedBytes"));
        assertEquals(100L, shown.get("peakUsedBytes"));
        assertEquals(0L, shown.get("waits"));
        assertEquals(0, shown.get("waitingConnections"));
        budget.release(100);
        assertEquals(0, budget.usedBytes());
    }

    @Test
    void getterRefusesANullSuite() {
        KtlsStats stats = new KtlsStats();
        assertThrows(NullPointerException.class, () -> stats.recordsSealed(null));
    }
}
