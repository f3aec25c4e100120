package io.ktls.handler.metrics;

import java.util.List;
import java.util.Map;

/**
 * The JMX view of {@link io.ktls.handler.KtlsMetric}, registered as {@code io.ktls:type=KtlsMetric} by
 * {@link io.ktls.handler.KtlsMetric#registerMBean()}. Each attribute reads the live counter of the same name;
 * per-suite attributes map the suite's IANA name to its counter.
 */
public interface KtlsMetricMXBean {

    long getActiveSessions();

    long getActiveInlineSessions();

    long getActiveOffloadSessions();

    long getSessionsTotal();

    long getOffloadSessionsTotal();

    /** Sessions whose records Linux kernel TLS seals now. */
    long getActiveKernelSessions();

    /** Sessions whose write keys went to the kernel, since the JVM started. */
    long getKernelSessionsTotal();

    /** Connections that asked for kernel TLS and stayed in user space, by cause ({@code KernelTlsRefusal}). */
    Map<String, Long> getKernelRefusals();

    /** Plaintext bytes handed to the kernel to seal. */
    long getKernelBytesWritten();

    /** Kernel sessions closed without close_notify (JDK before 22). */
    long getKernelCloseNotifyUnsent();

    long getFallbacks();

    long getRecordsSealed();

    long getBytesSealed();

    long getRecordsOpened();

    long getBytesOpened();

    long getRecordsSealedInPlace();

    long getRecordsSealedSeparate();

    long getRecordsQueued();

    long getRecordsInFlight();

    long getCryptoFailures();

    long getCorruptRecords();

    long getRenegotiationsRefused();

    long getPostHandshakeMessageFloodsRefused();

    long getEmptyRecordFloodsRefused();

    long getWarningAlertFloodsRefused();

    long getAnswersCoalesced();

    long getOffloadBatchesKeptInline();

    Map<String, Long> getActiveSessionsBySuite();

    Map<String, Long> getRecordsSealedBySuite();

    Map<String, Long> getBytesSealedBySuite();

    Map<String, Long> getRecordsOpenedBySuite();

    Map<String, Long> getBytesOpenedBySuite();

    /** One entry per live offload group: its name and, per worker, queue depth and tasks run. */
    List<OffloadGroupStats> getOffloadGroups();

    /** Every record memory budget of the JVM not yet collected: capacity, bytes held, peak, waits. */
    List<RecordMemoryBudgetStats> getRecordMemoryBudgets();
}
