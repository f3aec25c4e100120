package io.ktls.micrometer;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsStats;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KtlsRecordMetricsTest {

    private static final String SUITE = "tls_aes_128_gcm_sha256";
    private static final int PAYLOAD = 100_000;

    private final KtlsStats stats = new KtlsStats();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @Test
    void anEchoedExchangeMovesSessionRecordAndByteMeters() throws Exception {
        new KtlsRecordMetrics(stats).bindTo(registry);
        assertEquals(0, records("seal"));
        assertEquals(0, counter("ktls.started.sessions"));

        try (TlsEchoLoopback loopback = new TlsEchoLoopback(KtlsConfig.builder().stats(stats).build())) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(PAYLOAD);
            assertEquals(1, counter("ktls.started.sessions"));
            assertEquals(0, counter("ktls.started.offload.sessions"));
            assertEquals(1, activeSessions("inline"));
            assertEquals(0, activeSessions("offload"));
            assertEquals(1, registry.get("ktls.suite.active.sessions").tag("suite", SUITE).gauge().value());

            // The server opened what the client sent and sealed it back: at least 7 records of at most 16 KiB.
            assertEquals(PAYLOAD, payload("open"));
            assertEquals(PAYLOAD, payload("seal"));
            assertTrue(records("open") >= 7, "records opened: " + records("open"));
            assertTrue(records("seal") >= 7, "records sealed: " + records("seal"));
            assertTrue(counter("ktls.queued.records") >= records("seal"));
            double sealed = registry.get("ktls.sealed.records").tag("output", "in-place").functionCounter().count()
                    + registry.get("ktls.sealed.records").tag("output", "separate").functionCounter().count();
            assertEquals(records("seal"), sealed, "every sealed record went to one output or the other");
            assertEquals(0, registry.get("ktls.records").tag("suite", "tls_aes_256_gcm_sha384")
                    .tag("operation", "seal").functionCounter().count(), "suites not negotiated stay at 0");

            client.channel().close().sync();
            awaitValue(0, () -> activeSessions("inline"));
        }
        assertEquals(0, registry.get("ktls.in.flight.records").gauge().value());
        assertEquals(0, failures("crypto") + failures("corrupt-record"));
    }

    @Test
    void aCorruptRecordIsCountedAsAFailureByCause() throws Exception {
        new KtlsRecordMetrics(stats).bindTo(registry);
        try (TlsEchoLoopback loopback = new TlsEchoLoopback(KtlsConfig.builder().stats(stats).build())) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(10);
            // An application_data record whose 32 bytes cannot authenticate under the session's key.
            byte[] record = new byte[5 + 32];
            record[0] = 23;
            record[1] = 3;
            record[2] = 3;
            record[4] = 32;
            client.sendRaw(record);
            awaitValue(1, () -> failures("corrupt-record"));
            client.channel().closeFuture().await(10, TimeUnit.SECONDS);
        }
        assertEquals(0, failures("crypto"));
    }

    @Test
    void aSuiteLeftToSslHandlerIsCountedAsAFallback() throws Exception {
        new KtlsRecordMetrics(stats).bindTo(registry);
        KtlsConfig config = KtlsConfig.builder().stats(stats)
                .takeoverSuites(TlsCipherSuite.TLS_AES_256_GCM_SHA384).build();
        try (TlsEchoLoopback loopback = new TlsEchoLoopback(config)) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(1000);
            awaitValue(1, () -> counter("ktls.fallback.connections"));
            assertEquals(0, counter("ktls.started.sessions"));
            assertEquals(0, records("seal"), "SslHandler sealed this connection's records");
            client.channel().close().sync();
        }
    }

    @Test
    void theGlobalMetricCountsHandlersWithTheDefaultConfig() throws Exception {
        new KtlsRecordMetrics().bindTo(registry);
        double before = counter("ktls.started.sessions");
        double sealedBefore = payload("seal");
        try (TlsEchoLoopback loopback = new TlsEchoLoopback(KtlsConfig.defaults())) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(PAYLOAD);
            assertEquals(before + 1, counter("ktls.started.sessions"));
            assertEquals(sealedBefore + PAYLOAD, payload("seal"));
            client.channel().close().sync();
        }
        assertEquals(0, stats.sessionsTotal(), "a server's own stats see none of it");
    }

    @Test
    void prometheusScrapeNamesCountersWithTotalAndUnits() throws Exception {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new KtlsRecordMetrics(stats, Tags.of("server", "echo")).bindTo(prometheus);
        try (TlsEchoLoopback loopback = new TlsEchoLoopback(KtlsConfig.builder().stats(stats).build())) {
            TlsEchoLoopback.Client client = loopback.connect();
            client.echo(PAYLOAD);
            String scrape = prometheus.scrape();
            for (String name : List.of(
                    "ktls_active_sessions{mode=\"inline\",server=\"echo\"} 1",
                    "ktls_active_sessions{mode=\"offload\",server=\"echo\"} 0",
                    "ktls_suite_active_sessions{server=\"echo\",suite=\"" + SUITE + "\"} 1",
                    "ktls_started_sessions_total{server=\"echo\"} 1",
                    "ktls_started_offload_sessions_total{server=\"echo\"} 0",
                    "ktls_fallback_connections_total{server=\"echo\"} 0",
                    "ktls_records_total{operation=\"seal\",server=\"echo\",suite=\"" + SUITE + "\"}",
                    "ktls_records_total{operation=\"open\",server=\"echo\",suite=\"" + SUITE + "\"}",
                    "ktls_records_payload_bytes_total{operation=\"open\",server=\"echo\",suite=\"" + SUITE
                            + "\"} 100000",
                    "ktls_sealed_records_total{output=\"separate\",server=\"echo\"}",
                    "ktls_queued_records_total",
                    "ktls_in_flight_records",
                    "ktls_failures_total{cause=\"corrupt-record\",server=\"echo\"} 0",
                    "ktls_failures_total{cause=\"crypto\",server=\"echo\"} 0",
                    "ktls_refusals_total{cause=\"renegotiation\",server=\"echo\"} 0",
                    "ktls_refusals_total{cause=\"warning-alert-flood\",server=\"echo\"} 0",
                    "ktls_coalesced_answers_total",
                    "# HELP ktls_records_total TLS records sealed")) {
                assertTrue(scrape.contains(name), () -> name + " missing from\n" + scrape);
            }
            client.channel().close().sync();
        }
    }

    @Test
    void closeRemovesTheMeters() {
        KtlsRecordMetrics metrics = new KtlsRecordMetrics(stats);
        metrics.bindTo(registry);
        assertTrue(registry.getMeters().size() > 5 * TlsCipherSuite.values().length);
        metrics.close();
        assertEquals(0, registry.getMeters().size());
    }

    @Test
    void theMetersDoNotKeepTheirMetricAlive() throws InterruptedException {
        KtlsStats dropped = new KtlsStats();
        new KtlsRecordMetrics(dropped).bindTo(registry);
        WeakReference<KtlsStats> ref = new WeakReference<>(dropped);
        dropped = null;
        for (int i = 0; i < 20 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(ref.get(), "the registry holds the stats weakly, and no meter function holds the binder");
        assertTrue(Double.isNaN(registry.get("ktls.in.flight.records").gauge().value()));
    }

    private double counter(String name) {
        return registry.get(name).functionCounter().count();
    }

    private double activeSessions(String mode) {
        return registry.get("ktls.active.sessions").tag("mode", mode).gauge().value();
    }

    private double records(String operation) {
        return sumOverSuites("ktls.records", operation);
    }

    private double payload(String operation) {
        return sumOverSuites("ktls.records.payload", operation);
    }

    private double sumOverSuites(String name, String operation) {
        return registry.get(name).tag("operation", operation).functionCounters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    private double failures(String cause) {
        return registry.get("ktls.failures").tag("cause", cause).functionCounter().count();
    }

    /** Waits for a value that another thread (the server's event loop) sets, e.g. when a connection ends. */
    static void awaitValue(double expected, DoubleSupplier value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsDouble() != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(expected, value.getAsDouble());
    }

}
