package io.ktls.micrometer;

import io.ktls.handler.KernelTlsRefusal;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Locale;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Meters of the TLS record layer: sessions by mode and by cipher suite, records and payload bytes sealed and
 * opened by suite, records in flight, failures and refusals by cause, and connections left on Netty's
 * {@code SslHandler}. They read a {@link KtlsMetric}: {@link KtlsMetric#global()} (every handler of the JVM, the
 * default) or the {@code KtlsStats} a server passed to {@link KtlsConfig.Builder#stats}.
 *
 * <pre>{@code
 * new KtlsRecordMetrics().bindTo(registry);                        // KtlsMetric.global()
 * new KtlsRecordMetrics(stats, Tags.of("server", "files")).bindTo(registry);
 * }</pre>
 *
 * <p>Binding the global metric and a server's own stats in one registry needs a tag that tells them apart (the
 * meters would otherwise have the same name and tags). Offload groups have their own binder,
 * {@link KtlsOffloadMetrics}.
 *
 * <p>Every meter is function-based and reads the metric's counters (striped adders) when scraped; the hooks the
 * record layer calls are not touched. Suite tags are the lowercase IANA names
 * ({@code tls_aes_128_gcm_sha256}); every supported suite is registered, at 0 until a session uses it.
 *
 * <p>Threads: bind and close from any thread. The meters hold the metric weakly.
 */
public final class KtlsRecordMetrics implements MeterBinder, AutoCloseable {

    private static final String PREFIX = "ktls.";
    private static final String SESSIONS = "sessions";
    private static final String RECORDS = "records";

    private final KtlsMetric metric;
    private final Tags tags;
    private final RegisteredMeters meters = new RegisteredMeters();

    /** Meters of {@link KtlsMetric#global()}, every {@code KtlsHandler} of the JVM. */
    public KtlsRecordMetrics() {
        this(KtlsMetric.global(), Tags.empty());
    }

    /** Meters of {@code metric} (the global metric, or a server's {@code KtlsStats}). */
    public KtlsRecordMetrics(KtlsMetric metric) {
        this(metric, Tags.empty());
    }

    /** Meters of {@code metric}, tagged with {@code tags}. */
    public KtlsRecordMetrics(KtlsMetric metric, Iterable<Tag> tags) {
        this.metric = Objects.requireNonNull(metric, "metric");
        this.tags = Tags.of(Objects.requireNonNull(tags, "tags"));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        String activeByMode = "Sessions whose record layer runs now, by where records are sealed (mode: inline,"
                + " on the event loop; offload, on an offload group's worker; kernel, by Linux kernel TLS)";
        gauge(registry, "active.sessions", SESSIONS, activeByMode, Tags.of("mode", "inline"),
                KtlsMetric::activeInlineSessions);
        gauge(registry, "active.sessions", SESSIONS, activeByMode, Tags.of("mode", "offload"),
                KtlsMetric::activeOffloadSessions);
        gauge(registry, "active.sessions", SESSIONS, activeByMode, Tags.of("mode", "kernel"),
                KtlsMetric::activeKernelSessions);
        counter(registry, "started.kernel.sessions", SESSIONS, "Sessions whose write keys went to Linux kernel TLS"
                + " (a subset of ktls.started.sessions)", Tags.empty(), KtlsMetric::kernelSessionsTotal);
        for (KernelTlsRefusal cause : KernelTlsRefusal.values()) {
            counter(registry, "kernel.refusals", "connections", "Connections that asked for kernel TLS and stayed"
                    + " on the user-space record layer, by cause", Tags.of("cause",
                    cause.name().toLowerCase(Locale.ROOT).replace('_', '-')), m -> m.kernelRefusals(cause));
        }
        counter(registry, "kernel.written", BaseUnits.BYTES, "Plaintext bytes handed to Linux kernel TLS to seal",
                Tags.empty(), KtlsMetric::kernelBytesWritten);
        counter(registry, "kernel.close.notify.unsent", SESSIONS, "Kernel TLS sessions closed without close_notify"
                + " (no way to send a control record before JDK 22)", Tags.empty(),
                KtlsMetric::kernelCloseNotifyUnsent);
        counter(registry, "started.sessions", SESSIONS, "Sessions whose record layer started, inline, offload and"
                + " kernel",
                Tags.empty(), KtlsMetric::sessionsTotal);
        counter(registry, "started.offload.sessions", SESSIONS, "Sessions whose record layer started in offload"
                + " mode (a subset of ktls.started.sessions)", Tags.empty(), KtlsMetric::offloadSessionsTotal);
        counter(registry, "fallback.connections", "connections", "Connections left on Netty's SslHandler because"
                + " the engine, protocol or cipher suite is not supported", Tags.empty(), KtlsMetric::fallbacks);

        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            Tags bySuite = Tags.of("suite", suite.name().toLowerCase(Locale.ROOT));
            gauge(registry, "suite.active.sessions", SESSIONS, "Active sessions, by negotiated cipher suite",
                    bySuite, m -> m.activeSessions(suite));
            String records = "TLS records sealed (encrypted) and opened (verified and decrypted), by cipher suite";
            counter(registry, RECORDS, RECORDS, records, bySuite.and("operation", "seal"),
                    m -> m.recordsSealed(suite));
            counter(registry, RECORDS, RECORDS, records, bySuite.and("operation", "open"),
                    m -> m.recordsOpened(suite));
            String payload = "Plaintext bytes sealed into records and recovered from opened records, by cipher suite";
            counter(registry, "records.payload", BaseUnits.BYTES, payload, bySuite.and("operation", "seal"),
                    m -> m.bytesSealed(suite));
            counter(registry, "records.payload", BaseUnits.BYTES, payload, bySuite.and("operation", "open"),
                    m -> m.bytesOpened(suite));
        }

        String output = "Records sealed, by output buffer (output: in-place, the caller's buffer; separate, a"
                + " buffer of its own, as file data always is)";
        counter(registry, "sealed.records", RECORDS, output, Tags.of("output", "in-place"),
                KtlsMetric::recordsSealedInPlace);
        counter(registry, "sealed.records", RECORDS, output, Tags.of("output", "separate"),
                KtlsMetric::recordsSealedSeparate);
        counter(registry, "queued.records", RECORDS, "Records handed to a sealer", Tags.empty(),
                KtlsMetric::recordsQueued);
        gauge(registry, "in.flight.records", RECORDS, "Records handed to a sealer and not sealed or failed yet",
                Tags.empty(), KtlsMetric::recordsInFlight);

        String failures = "Connections closed by a record layer failure (cause: crypto, the cipher failed to seal"
                + " or open; corrupt-record, a received record had a bad tag, length or framing)";
        counter(registry, "failures", "failures", failures, Tags.of("cause", "crypto"), KtlsMetric::cryptoFailures);
        counter(registry, "failures", "failures", failures, Tags.of("cause", "corrupt-record"),
                KtlsMetric::corruptRecords);

        String refusals = "Post-handshake messages a peer may not send, refused (cause: renegotiation,"
                + " post-handshake-message-flood, empty-record-flood, warning-alert-flood)";
        counter(registry, "refusals", "refusals", refusals, Tags.of("cause", "renegotiation"),
                KtlsMetric::renegotiationsRefused);
        counter(registry, "refusals", "refusals", refusals, Tags.of("cause", "post-handshake-message-flood"),
                KtlsMetric::postHandshakeMessageFloodsRefused);
        counter(registry, "refusals", "refusals", refusals, Tags.of("cause", "empty-record-flood"),
                KtlsMetric::emptyRecordFloodsRefused);
        counter(registry, "refusals", "refusals", refusals, Tags.of("cause", "warning-alert-flood"),
                KtlsMetric::warningAlertFloodsRefused);
        counter(registry, "coalesced.answers", "answers", "KeyUpdate or no_renegotiation answers not sent because"
                + " the same answer was still waiting to be written", Tags.empty(), KtlsMetric::answersCoalesced);
        counter(registry, "offload.inline.batches", "batches", "framing passes of offloading connections sealed on"
                + " the event loop, too small to hand off", Tags.empty(), KtlsMetric::offloadBatchesKeptInline);
    }

    /** Removes the meters this binder registered, from every registry it was bound to. */
    @Override
    public void close() {
        meters.removeAll();
    }

    // The functions capture a suite at most, never this binder: the registry holds the metric weakly, and a
    // function holding the binder would hold it strongly.

    private void counter(MeterRegistry registry, String name, String unit, String description, Tags meterTags,
                         ToDoubleFunction<KtlsMetric> count) {
        meters.add(registry, FunctionCounter.builder(PREFIX + name, metric, count)
                .description(description).baseUnit(unit).tags(tags).tags(meterTags).register(registry));
    }

    private void gauge(MeterRegistry registry, String name, String unit, String description, Tags meterTags,
                       ToDoubleFunction<KtlsMetric> value) {
        meters.add(registry, Gauge.builder(PREFIX + name, metric, value)
                .description(description).baseUnit(unit).tags(tags).tags(meterTags).register(registry));
    }
}
