package io.ktls.micrometer;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.RecordMemoryBudget;
import io.ktls.handler.RecordMemoryBudgetMetric;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Meters of one {@link RecordMemoryBudget}, the bound on sealed records not yet written that a server's
 * connections share ({@link KtlsConfig.Builder#recordMemoryBudget}): its capacity, what is held now and at the
 * peak, and how often and how many connections waited for it. Tagged {@code budget=<name>}.
 *
 * <pre>{@code
 * new KtlsRecordMemoryBudgetMetrics(budget).bindTo(registry);
 * new KtlsRecordMemoryBudgetMetrics(RecordMemoryBudget.jvmDefault()).bindTo(registry); // the default one
 * }</pre>
 *
 * <p>{@code ktls.record.memory.used} near {@code ktls.record.memory.capacity} for long, with
 * {@code ktls.record.memory.waits} climbing, means the server runs at its memory bound; connections still
 * waiting when the load is gone mean records are not completing (peers not reading).
 *
 * <p>Threads: bind and close from any thread. The meters hold the budget weakly and read it when scraped.
 */
public final class KtlsRecordMemoryBudgetMetrics implements MeterBinder, AutoCloseable {

    private static final String PREFIX = "ktls.record.memory.";

    private final RecordMemoryBudgetMetric budget;
    private final Tags tags;
    private final RegisteredMeters meters = new RegisteredMeters();

    public KtlsRecordMemoryBudgetMetrics(RecordMemoryBudgetMetric budget) {
        this(budget, Tags.empty());
    }

    public KtlsRecordMemoryBudgetMetrics(RecordMemoryBudgetMetric budget, Iterable<Tag> tags) {
        this.budget = Objects.requireNonNull(budget, "budget");
        this.tags = Tags.of(Objects.requireNonNull(tags, "tags")).and("budget", budget.name());
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "capacity", BaseUnits.BYTES, "Bytes of records the connections may hold beyond their"
                + " guaranteed records", RecordMemoryBudgetMetric::capacityBytes);
        gauge(registry, "used", BaseUnits.BYTES, "Bytes of records framed and not yet written, guaranteed records"
                + " included", RecordMemoryBudgetMetric::usedBytes);
        gauge(registry, "peak", BaseUnits.BYTES, "The most bytes held at once since the budget was made",
                RecordMemoryBudgetMetric::peakUsedBytes);
        gauge(registry, "guaranteed.records", "records", "Records each connection may always hold",
                RecordMemoryBudgetMetric::guaranteedRecordsPerConnection);
        gauge(registry, "waiting.connections", "connections", "Connections stopped now, waiting for budget",
                RecordMemoryBudgetMetric::waitingConnections);
        meters.add(registry, FunctionCounter.builder(PREFIX + "waits", budget, RecordMemoryBudgetMetric::waits)
                .description("Times a connection found the budget exhausted and waited").baseUnit("waits")
                .tags(tags).register(registry));
    }

    /** Removes the meters this binder registered, from every registry it was bound to. */
    @Override
    public void close() {
        meters.removeAll();
    }

    private void gauge(MeterRegistry registry, String name, String unit, String description,
                       ToDoubleFunction<RecordMemoryBudgetMetric> value) {
        meters.add(registry, Gauge.builder(PREFIX + name, budget, value).description(description).baseUnit(unit)
                .tags(tags).register(registry));
    }
}
