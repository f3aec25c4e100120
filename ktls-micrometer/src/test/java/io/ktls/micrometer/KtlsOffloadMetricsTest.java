package io.ktls.micrometer;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

import static io.ktls.micrometer.KtlsRecordMetricsTest.awaitValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KtlsOffloadMetricsTest {

    private final KtlsOffloadGroup group = new KtlsOffloadGroup(2);
    private final String groupName = group.metric().name();
    private final KtlsStats stats = new KtlsStats();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @AfterEach
    void shutDownGroup() throws InterruptedException {
        group.shutdownGracefully().await(10, TimeUnit.SECONDS);
    }

    @Test
    void offloadedSealingMovesWorkerTaskAndBusyTimeMeters() throws Exception {
        new KtlsOffloadMetrics(group).bindTo(registry);
        new KtlsRecordMetrics(stats).bindTo(registry);
        assertEquals(2, registry.get("ktls.offload.workers").tag("group", groupName).gauge().value());
        double executedBefore = workerSum("ktls.offload.executed.tasks");
        double busyBefore = workerSum("ktls.offload.busy.time");

        KtlsConfig config = KtlsConfig.builder().stats(stats).offloadGroup(group).build();
        try (TlsEchoLoopback loopback = new TlsEchoLoopback(config)) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(200_000);
            assertEquals(1, registry.get("ktls.active.sessions").tag("mode", "offload").gauge().value());
            assertEquals(1, registry.get("ktls.started.offload.sessions").functionCounter().count());

            // A worker counts a task as it ends and adds its busy time once its queue runs dry: both may land just
            // after the hand-back that let the echo out.
            awaitAbove(executedBefore, () -> workerSum("ktls.offload.executed.tasks"),
                    "the workers sealed the echoed records");
            awaitAbove(busyBefore, () -> workerSum("ktls.offload.busy.time"), "and were busy doing it");
            assertEquals(0, workerSum("ktls.offload.failed.tasks"));
            awaitValue(0, () -> registry.get("ktls.offload.queued.tasks").gauges().stream()
                    .mapToDouble(g -> g.value()).sum());
            client.channel().close().sync();
            awaitValue(0, () -> registry.get("ktls.active.sessions").tag("mode", "offload").gauge().value());
        }
    }

    @Test
    void prometheusScrapeShowsEachWorker() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new KtlsOffloadMetrics(group).bindTo(prometheus);
        String scrape = prometheus.scrape();
        String g = "group=\"" + groupName + "\"";
        for (String name : List.of(
                "ktls_offload_workers{" + g + "} 2",
                "ktls_offload_busy_workers{" + g + "}",
                "ktls_offload_queued_tasks{" + g + ",worker=\"0\"} 0",
                "ktls_offload_queued_tasks{" + g + ",worker=\"1\"} 0",
                "ktls_offload_executed_tasks_total{" + g + ",worker=\"1\"}",
                "ktls_offload_failed_tasks_total{" + g + ",worker=\"0\"} 0",
                "ktls_offload_busy_time_seconds_total{" + g + ",worker=\"0\"}",
                "# HELP ktls_offload_busy_time_seconds_total Time the worker spent")) {
            assertTrue(scrape.contains(name), () -> name + " missing from\n" + scrape);
        }
    }

    @Test
    void closeRemovesTheGroupsMetersAndOnlyThem() {
        KtlsOffloadMetrics metrics = new KtlsOffloadMetrics(group);
        metrics.bindTo(registry);
        new KtlsRecordMetrics(stats).bindTo(registry);
        int before = registry.getMeters().size();
        metrics.close();
        assertEquals(before - (2 + 4 * 2), registry.getMeters().size(), "2 group meters, 4 per worker");
        assertTrue(registry.find("ktls.offload.workers").meters().isEmpty());
        assertTrue(registry.find("ktls.records").functionCounters().size() > 0);
    }

    private static void awaitAbove(double floor, DoubleSupplier value, String message) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsDouble() <= floor && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(value.getAsDouble() > floor, message);
    }

    private double workerSum(String name) {
        return registry.get(name).tag("group", groupName).functionCounters().stream()
                .mapToDouble(FunctionCounter::count).sum();
    }
}
