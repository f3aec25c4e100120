package io.ktls.micrometer;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.RecordMemoryBudget;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KtlsRecordMemoryBudgetMetricsTest {

    @Test
    void anExchangeThroughTheBudgetMovesItsPeakAndReturnsToZero() throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("files", 1 << 20, 2);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new KtlsRecordMemoryBudgetMetrics(budget).bindTo(registry);
        assertEquals(1 << 20, registry.get("ktls.record.memory.capacity").tag("budget", "files").gauge().value());
        assertEquals(2, registry.get("ktls.record.memory.guaranteed.records").gauge().value());
        assertEquals(0, registry.get("ktls.record.memory.peak").gauge().value());

        try (TlsEchoLoopback loopback = new TlsEchoLoopback(KtlsConfig.builder().recordMemoryBudget(budget).build())) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(200_000);
            client.channel().close().sync();
        }
        assertTrue(registry.get("ktls.record.memory.peak").gauge().value() > 0, "records were held");
        KtlsRecordMetricsTest.awaitValue(0, () -> registry.get("ktls.record.memory.used").gauge().value());
        assertEquals(0, registry.get("ktls.record.memory.waiting.connections").gauge().value());
        assertEquals(budget.waits(), registry.get("ktls.record.memory.waits").functionCounter().count());
    }

    @Test
    void prometheusNamesTheMetersInBytesAndTheWaitsAsACounter() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new KtlsRecordMemoryBudgetMetrics(new RecordMemoryBudget("server", 4096, 1)).bindTo(registry);
        String scrape = registry.scrape();
        assertTrue(scrape.contains("ktls_record_memory_capacity_bytes{budget=\"server\"} 4096"), scrape);
        assertTrue(scrape.contains("ktls_record_memory_used_bytes{budget=\"server\"}"), scrape);
        assertTrue(scrape.contains("ktls_record_memory_waits_total{budget=\"server\"}"), scrape);
    }

    @Test
    void closeRemovesTheMeters() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        KtlsRecordMemoryBudgetMetrics metrics = new KtlsRecordMemoryBudgetMetrics(new RecordMemoryBudget(1 << 20));
        metrics.bindTo(registry);
        assertEquals(6, registry.getMeters().size());
        metrics.close();
        assertEquals(0, registry.getMeters().size());
    }
}
