package io.ktls.handler;

/**
 * Read-only view of a {@link RecordMemoryBudget}: what it allows, what is held now, and how often connections
 * waited for it. Values are read without a lock; each is a recent value, exact once the connections are quiet.
 */
public interface RecordMemoryBudgetMetric {

    /** The name given at construction, for logs and the metrics page. */
    String name();

    /** Bytes of records the connections may hold beyond their guaranteed records (the pool's size). */
    long capacityBytes();

    /** Records each connection may always hold, whatever the pool holds: the floor that guarantees progress. */
    int guaranteedRecordsPerConnection();

    /**
     * Bytes of record memory held now, guaranteed records included: records framed whose socket write has not
     * completed, and framing reservations. A gauge; may exceed {@link #capacityBytes()} by at most the connections'
     * guaranteed records.
     */
    long usedBytes();

    /** The highest {@link #usedBytes()} seen since the budget was made. */
    long peakUsedBytes();

    /** Times a connection found the pool exhausted and stopped framing until budget came back (cumulative). */
    long waits();

    /** Connections stopped now, waiting for budget: a gauge. */
    int waitingConnections();
}
