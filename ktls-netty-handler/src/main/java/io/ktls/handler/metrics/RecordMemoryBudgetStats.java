package io.ktls.handler.metrics;

import io.ktls.handler.RecordMemoryBudgetMetric;

/**
 * A snapshot of one {@link io.ktls.handler.RecordMemoryBudget}, as JMX shows it (a composite). Immutable; taken
 * when the attribute is read.
 */
public final class RecordMemoryBudgetStats {

    private final String name;
    private final long capacityBytes;
    private final int guaranteedRecordsPerConnection;
    private final long usedBytes;
    private final long peakUsedBytes;
    private final long waits;
    private final int waitingConnections;

    RecordMemoryBudgetStats(RecordMemoryBudgetMetric budget) {
        this.name = budget.name();
        this.capacityBytes = budget.capacityBytes();
        this.guaranteedRecordsPerConnection = budget.guaranteedRecordsPerConnection();
        this.usedBytes = budget.usedBytes();
        this.peakUsedBytes = budget.peakUsedBytes();
        this.waits = budget.waits();
        this.waitingConnections = budget.waitingConnections();
    }

    /** The budget's name, e.g. {@code jvmDefault}. */
    public String getName() {
        return name;
    }

    /** Bytes the connections may hold beyond their guaranteed records. */
    public long getCapacityBytes() {
        return capacityBytes;
    }

    /** Records each connection may always hold. */
    public int getGuaranteedRecordsPerConnection() {
        return guaranteedRecordsPerConnection;
    }

    /** Bytes of records framed and not yet written, guaranteed ones included. */
    public long getUsedBytes() {
        return usedBytes;
    }

    /** The highest {@link #getUsedBytes()} seen. */
    public long getPeakUsedBytes() {
        return peakUsedBytes;
    }

    /** Times a connection waited for budget. */
    public long getWaits() {
        return waits;
    }

    /** Connections waiting for budget now. */
    public int getWaitingConnections() {
        return waitingConnections;
    }
}
