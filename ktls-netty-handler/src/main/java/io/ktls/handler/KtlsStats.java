package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.util.internal.ObjectUtil;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * A set of the counters behind {@link KtlsMetric}: hooks that the record layer calls on every path it takes, and
 * the getters that read them. Passed in through {@link KtlsConfig.Builder#stats(KtlsStats)}, so a server or a
 * test can own a set of its own; by default every handler adds to the JVM's ({@link KtlsMetric#global()}).
 *
 * <p>Threads: every hook may be called from any event loop or offload worker at once. Each counter is a
 * {@link LongAdder} (striped cells, so hooks on different cores rarely contend); per-suite counters are
 * arrays indexed by {@link TlsCipherSuite#ordinal()}. A hook costs one or two uncontended adds; readers sum
 * the cells, so a read while hooks run sees a recent value of each counter, exact once they stop.
 */
public final class KtlsStats implements KtlsMetric {

    /** Initialized before {@link #GLOBAL}, whose constructor sizes its per-suite arrays with it. */
    private static final TlsCipherSuite[] SUITES = TlsCipherSuite.values();

    /** The counters of every handler in this JVM; {@link KtlsMetric#global()} exposes it read-only. */
    static final KtlsStats GLOBAL = new KtlsStats();

    private final LongAdder activeInline = new LongAdder();
    private final LongAdder activeOffload = new LongAdder();
    private final LongAdder sessionsTotal = new LongAdder();
    private final LongAdder offloadSessionsTotal = new LongAdder();
    private final LongAdder fallbacks = new LongAdder();
    private final LongAdder activeKernel = new LongAdder();
    private final LongAdder kernelSessionsTotal = new LongAdder();
    private final LongAdder kernelBytesWritten = new LongAdder();
    private final LongAdder kernelCloseNotifyUnsent = new LongAdder();
    private final LongAdder[] kernelRefusals = newAdders(KernelTlsRefusal.values().length);
    private final LongAdder sealedInPlace = new LongAdder();
    private final LongAdder sealedSeparate = new LongAdder();
    private final LongAdder recordsQueued = new LongAdder();
    private final LongAdder recordsCompleted = new LongAdder();
    private final LongAdder cryptoFailures = new LongAdder();
    private final LongAdder corruptRecords = new LongAdder();
    // Refusals of what a peer may send after the handshake (InboundRecordLayer, RecordReader).
    private final LongAdder renegotiationsRefused = new LongAdder();
    private final LongAdder postHandshakeMessageFloodsRefused = new LongAdder();
    private final LongAdder emptyRecordFloodsRefused = new LongAdder();
    private final LongAdder warningAlertFloodsRefused = new LongAdder();
    private final LongAdder answersCoalesced = new LongAdder();
    private final LongAdder offloadBatchesKeptInline = new LongAdder();

    private final LongAdder[] activeBySuite = newAdders();
    private final LongAdder[] recordsSealedBySuite = newAdders();
    private final LongAdder[] bytesSealedBySuite = newAdders();
    private final LongAdder[] recordsOpenedBySuite = newAdders();
    private final LongAdder[] bytesOpenedBySuite = newAdders();

    /** A fresh set of counters at 0, for {@link KtlsConfig.Builder#stats(KtlsStats)}. */
    public KtlsStats() {
    }

    private static LongAdder[] newAdders() {
        return newAdders(SUITES.length);
    }

    private static LongAdder[] newAdders(int length) {
        LongAdder[] adders = new LongAdder[length];
        for (int i = 0; i < adders.length; i++) {
            adders[i] = new LongAdder();
        }
        return adders;
    }

    // Hooks, called by the record layer.

    /** A connection's record layer started here, sealing inline or on an offload worker. */
    void sessionStarted(TlsCipherSuite suite, boolean offloaded) {
        activeBySuite[suite.ordinal()].increment();
        (offloaded ? activeOffload : activeInline).increment();
        sessionsTotal.increment();
        if (offloaded) {
            offloadSessionsTotal.increment();
        }
    }

    /** A session started with {@link #sessionStarted} ended; call exactly once per started session. */
    void sessionEnded(TlsCipherSuite suite, boolean offloaded) {
        activeBySuite[suite.ordinal()].decrement();
        (offloaded ? activeOffload : activeInline).decrement();
    }

    /** A connection's keys went to the kernel, which seals its records from now on. */
    void kernelSessionStarted(TlsCipherSuite suite) {
        activeBySuite[suite.ordinal()].increment();
        activeKernel.increment();
        sessionsTotal.increment();
        kernelSessionsTotal.increment();
    }

    /** A session started with {@link #kernelSessionStarted} ended; exactly once per started session. */
    void kernelSessionEnded(TlsCipherSuite suite) {
        activeBySuite[suite.ordinal()].decrement();
        activeKernel.decrement();
    }

    /** A connection that asked for kernel TLS stays in user space. */
    void kernelRefused(KernelTlsRefusal cause) {
        kernelRefusals[cause.ordinal()].increment();
    }

    /** Bytes handed to the kernel to seal. */
    void kernelBytesWritten(long bytes) {
        kernelBytesWritten.add(bytes);
    }

    /** A kernel session closed without close_notify (no way to send a control record on this JDK). */
    void kernelClosedWithoutNotify() {
        kernelCloseNotifyUnsent.increment();
    }

    /** A connection stayed on {@code SslHandler}: unsupported engine, protocol or suite. */
    void fallback() {
        fallbacks.increment();
    }

    /** One record of {@code payloadBytes} plaintext bytes was sealed with {@code suite}. */
    void recordsSealed(TlsCipherSuite suite, long payloadBytes) {
        recordsSealedBySuite[suite.ordinal()].increment();
        bytesSealedBySuite[suite.ordinal()].add(payloadBytes);
    }

    /** One record was opened with {@code suite}, yielding {@code plaintextBytes} bytes. */
    void recordOpened(TlsCipherSuite suite, long plaintextBytes) {
        recordsOpenedBySuite[suite.ordinal()].increment();
        bytesOpenedBySuite[suite.ordinal()].add(plaintextBytes);
    }

    /** A record was sealed in the caller's buffer. */
    void sealedInPlace() {
        sealedInPlace.increment();
    }

    /** A record was sealed into a separate output buffer. */
    void sealedSeparate() {
        sealedSeparate.increment();
    }

    /** A framed record was handed to its sealer. */
    void recordQueued() {
        recordsQueued.increment();
    }

    /** A record handed over with {@link #recordQueued()} completed, sealed or failed; call once per record. */
    void recordCompleted() {
        recordsCompleted.increment();
    }

    /** The cipher failed while sealing or opening; the connection was closed. */
    void cryptoFailure() {
        cryptoFailures.increment();
    }

    /** A received record failed authentication or framing. */
    void corruptRecord() {
        corruptRecords.increment();
    }

    /** A TLS 1.2 renegotiation attempt: a ClientHello to a server (fatal) or a HelloRequest to a client. */
    void renegotiationRefused() {
        renegotiationsRefused.increment();
    }

    /** A connection ended after 32 KeyUpdates or HelloRequests in a row without application data. */
    void postHandshakeMessageFloodRefused() {
        postHandshakeMessageFloodsRefused.increment();
    }

    /** A connection ended after 32 empty records in a row. */
    void emptyRecordFloodRefused() {
        emptyRecordFloodsRefused.increment();
    }

    /** A connection ended after 4 warning alerts in a row. */
    void warningAlertFloodRefused() {
        warningAlertFloodsRefused.increment();
    }

    /** A KeyUpdate or no_renegotiation answer not sent because the same answer was still waiting to be written. */
    void answerCoalesced() {
        answersCoalesced.increment();
    }

    /** An offloading connection sealed a small framing pass on its event loop. */
    void offloadBatchKeptInline() {
        offloadBatchesKeptInline.increment();
    }

    // Getters.

    @Override
    public long activeSessions() {
        return activeInline.sum() + activeOffload.sum() + activeKernel.sum();
    }

    @Override
    public long activeKernelSessions() {
        return activeKernel.sum();
    }

    @Override
    public long kernelSessionsTotal() {
        return kernelSessionsTotal.sum();
    }

    @Override
    public long kernelRefusals(KernelTlsRefusal cause) {
        return kernelRefusals[ObjectUtil.checkNotNull(cause, "cause").ordinal()].sum();
    }

    @Override
    public long kernelBytesWritten() {
        return kernelBytesWritten.sum();
    }

    @Override
    public long kernelCloseNotifyUnsent() {
        return kernelCloseNotifyUnsent.sum();
    }

    @Override
    public long activeInlineSessions() {
        return activeInline.sum();
    }

    @Override
    public long activeOffloadSessions() {
        return activeOffload.sum();
    }

    @Override
    public long activeSessions(TlsCipherSuite suite) {
        return activeBySuite[checkSuite(suite)].sum();
    }

    @Override
    public long sessionsTotal() {
        return sessionsTotal.sum();
    }

    @Override
    public long offloadSessionsTotal() {
        return offloadSessionsTotal.sum();
    }

    @Override
    public long fallbacks() {
        return fallbacks.sum();
    }

    @Override
    public long recordsSealed() {
        return sum(recordsSealedBySuite);
    }

    @Override
    public long recordsSealed(TlsCipherSuite suite) {
        return recordsSealedBySuite[checkSuite(suite)].sum();
    }

    @Override
    public long bytesSealed() {
        return sum(bytesSealedBySuite);
    }

    @Override
    public long bytesSealed(TlsCipherSuite suite) {
        return bytesSealedBySuite[checkSuite(suite)].sum();
    }

    @Override
    public long recordsOpened() {
        return sum(recordsOpenedBySuite);
    }

    @Override
    public long recordsOpened(TlsCipherSuite suite) {
        return recordsOpenedBySuite[checkSuite(suite)].sum();
    }

    @Override
    public long bytesOpened() {
        return sum(bytesOpenedBySuite);
    }

    @Override
    public long bytesOpened(TlsCipherSuite suite) {
        return bytesOpenedBySuite[checkSuite(suite)].sum();
    }

    @Override
    public long recordsSealedInPlace() {
        return sealedInPlace.sum();
    }

    @Override
    public long recordsSealedSeparate() {
        return sealedSeparate.sum();
    }

    @Override
    public long recordsQueued() {
        return recordsQueued.sum();
    }

    @Override
    public long recordsInFlight() {
        // Completed first: a record completing between the two reads then shows as still in flight rather
        // than the gauge dipping below zero.
        long completed = recordsCompleted.sum();
        return recordsQueued.sum() - completed;
    }

    @Override
    public long cryptoFailures() {
        return cryptoFailures.sum();
    }

    @Override
    public long corruptRecords() {
        return corruptRecords.sum();
    }

    @Override
    public long renegotiationsRefused() {
        return renegotiationsRefused.sum();
    }

    @Override
    public long postHandshakeMessageFloodsRefused() {
        return postHandshakeMessageFloodsRefused.sum();
    }

    @Override
    public long emptyRecordFloodsRefused() {
        return emptyRecordFloodsRefused.sum();
    }

    @Override
    public long warningAlertFloodsRefused() {
        return warningAlertFloodsRefused.sum();
    }

    @Override
    public long answersCoalesced() {
        return answersCoalesced.sum();
    }

    @Override
    public long offloadBatchesKeptInline() {
        return offloadBatchesKeptInline.sum();
    }

    @Override
    public List<KtlsOffloadGroupMetric> offloadGroups() {
        return KtlsOffloadGroup.liveGroups();
    }

    @Override
    public List<RecordMemoryBudgetMetric> recordMemoryBudgets() {
        return RecordMemoryBudget.liveBudgets();
    }

    @Override
    public Map<String, Object> toMap() {
        Map<String, Object> sessions = new LinkedHashMap<>();
        sessions.put("active", activeSessions());
        sessions.put("activeInline", activeInlineSessions());
        sessions.put("activeOffload", activeOffloadSessions());
        sessions.put("total", sessionsTotal());
        sessions.put("offloadTotal", offloadSessionsTotal());
        sessions.put("fallbacks", fallbacks());
        sessions.put("activeKernel", activeKernelSessions());
        sessions.put("kernelTotal", kernelSessionsTotal());

        Map<String, Object> kernel = new LinkedHashMap<>();
        kernel.put("bytesWritten", kernelBytesWritten());
        kernel.put("closeNotifyUnsent", kernelCloseNotifyUnsent());
        Map<String, Object> refusals = new LinkedHashMap<>();
        for (KernelTlsRefusal cause : KernelTlsRefusal.values()) {
            refusals.put(cause.name(), kernelRefusals(cause));
        }
        kernel.put("refusals", refusals);

        Map<String, Object> records = new LinkedHashMap<>();
        records.put("sealed", recordsSealed());
        records.put("bytesSealed", bytesSealed());
        records.put("opened", recordsOpened());
        records.put("bytesOpened", bytesOpened());
        records.put("sealedInPlace", recordsSealedInPlace());
        records.put("sealedSeparate", recordsSealedSeparate());
        records.put("queued", recordsQueued());
        records.put("inFlight", recordsInFlight());
        records.put("cryptoFailures", cryptoFailures());
        records.put("corrupt", corruptRecords());
        records.put("renegotiationsRefused", renegotiationsRefused());
        records.put("postHandshakeMessageFloodsRefused", postHandshakeMessageFloodsRefused());
        records.put("emptyRecordFloodsRefused", emptyRecordFloodsRefused());
        records.put("warningAlertFloodsRefused", warningAlertFloodsRefused());
        records.put("answersCoalesced", answersCoalesced());
        records.put("offloadBatchesKeptInline", offloadBatchesKeptInline());

        Map<String, Object> suites = new LinkedHashMap<>();
        for (TlsCipherSuite suite : SUITES) {
            Map<String, Object> perSuite = new LinkedHashMap<>();
            perSuite.put("activeSessions", activeSessions(suite));
            perSuite.put("recordsSealed", recordsSealed(suite));
            perSuite.put("bytesSealed", bytesSealed(suite));
            perSuite.put("recordsOpened", recordsOpened(suite));
            perSuite.put("bytesOpened", bytesOpened(suite));
            suites.put(suite.name(), perSuite);
        }

        List<Object> groups = new ArrayList<>();
        for (KtlsOffloadGroupMetric group : offloadGroups()) {
            Map<String, Object> perGroup = new LinkedHashMap<>();
            perGroup.put("name", group.name());
            perGroup.put("workers", group.workers());
            perGroup.put("shuttingDown", group.isShuttingDown());
            List<Object> workers = new ArrayList<>();
            for (KtlsOffloadWorkerMetric worker : group.workerMetrics()) {
                Map<String, Object> perWorker = new LinkedHashMap<>();
                perWorker.put("index", worker.index());
                perWorker.put("queuedTasks", worker.queuedTasks());
                perWorker.put("executedTasks", worker.executedTasks());
                perWorker.put("failedTasks", worker.failedTasks());
                perWorker.put("busyNanos", worker.busyNanos());
                perWorker.put("busy", worker.isBusy());
                workers.add(perWorker);
            }
            perGroup.put("workerMetrics", workers);
            groups.add(perGroup);
        }

        List<Object> budgets = new ArrayList<>();
        for (RecordMemoryBudgetMetric budget : recordMemoryBudgets()) {
            Map<String, Object> perBudget = new LinkedHashMap<>();
            perBudget.put("name", budget.name());
            perBudget.put("capacityBytes", budget.capacityBytes());
            perBudget.put("guaranteedRecordsPerConnection", budget.guaranteedRecordsPerConnection());
            perBudget.put("usedBytes", budget.usedBytes());
            perBudget.put("peakUsedBytes", budget.peakUsedBytes());
            perBudget.put("waits", budget.waits());
            perBudget.put("waitingConnections", budget.waitingConnections());
            budgets.add(perBudget);
        }

        Map<String, Object> map = new LinkedHashMap<>();
        map.put("sessions", sessions);
        map.put("records", records);
        map.put("kernel", kernel);
        map.put("suites", suites);
        map.put("offloadGroups", groups);
        map.put("recordMemoryBudgets", budgets);
        return map;
    }

    @Override
    public String toString() {
        return "KtlsMetric(activeSessions: " + activeSessions() + ", recordsSealed: " + recordsSealed()
                + ", recordsOpened: " + recordsOpened() + ", recordsInFlight: " + recordsInFlight()
                + ", fallbacks: " + fallbacks() + ", cryptoFailures: " + cryptoFailures()
                + ", corruptRecords: " + corruptRecords() + ')';
    }

    private static int checkSuite(TlsCipherSuite suite) {
        return ObjectUtil.checkNotNull(suite, "suite").ordinal();
    }

    private static long sum(LongAdder[] adders) {
        long sum = 0;
        for (LongAdder adder : adders) {
            sum += adder.sum();
        }
        return sum;
    }
}
