package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.metrics.KtlsMetricBean;

import java.util.List;
import java.util.Map;

/**
 * Read-only counters of the TLS record layer, in the spirit of FreeBSD's {@code kern.ipc.tls.stats.*}:
 * sessions by mode and cipher suite, records and bytes sealed and opened, records in flight, how output was
 * produced, and every failure path. {@link #global()} counts every {@code KtlsHandler} of the JVM.
 *
 * <p>Counters are cumulative since the JVM started unless their name says {@code active} or {@code inFlight};
 * those are gauges. Each value is exact once the connections involved are quiet; read while traffic flows,
 * each counter is a recent value, and two counters are not a consistent pair.
 *
 * <p>Over JMX: call {@link #registerMBean()} once (safe to call again) to publish these counters, and the
 * offload groups' queues, as the MXBean {@value #OBJECT_NAME}.
 */
public interface KtlsMetric {

    /** The JMX name of the global metric's MXBean. */
    String OBJECT_NAME = "io.ktls:type=KtlsMetric";

    /** The counters of every {@code KtlsHandler} in this JVM. */
    static KtlsMetric global() {
        return KtlsStats.GLOBAL;
    }

    /**
     * Registers {@link #global()} with the platform MBean server as {@value #OBJECT_NAME}. Idempotent: returns
     * {@code false} (and does nothing) when a bean is already registered under that name.
     *
     * @throws IllegalStateException when the MBean server refuses the bean
     */
    static boolean registerMBean() {
        return KtlsMetricBean.register(global());
    }

    /** Removes the bean {@link #registerMBean()} registered; returns {@code false} when there was none. */
    static boolean unregisterMBean() {
        return KtlsMetricBean.unregister();
    }

    // Sessions: a session is one connection whose record layer we run after the handshake.

    /** Sessions whose record layer runs here now, inline and offloaded ({@code kern.ipc.tls.stats.active}). */
    long activeSessions();

    /** Active sessions that seal on their event loop. */
    long activeInlineSessions();

    /** Active sessions that seal on a {@link KtlsOffloadGroup} worker. */
    long activeOffloadSessions();

    /**
     * Active sessions that negotiated {@code suite} (FreeBSD counts per algorithm:
     * {@code kern.ipc.tls.sw.gcm}, {@code .chacha20}).
     */
    long activeSessions(TlsCipherSuite suite);

    /** Sessions started since the JVM started ({@code kern.ipc.tls.stats.offload_total}). */
    long sessionsTotal();

    /** Of {@link #sessionsTotal()}, those started in offload mode. */
    long offloadSessionsTotal();

    /** Connections that stayed on Netty's {@code SslHandler} because the engine or suite is not supported here. */
    long fallbacks();

    // Kernel TLS (KtlsConfig.Builder#kernelTls): sessions whose records Linux seals.

    /**
     * Active sessions whose records the kernel seals ({@link KernelTls}); a subset of {@link #activeSessions()},
     * apart from the inline and offload ones.
     */
    long activeKernelSessions();

    /** Of {@link #sessionsTotal()}, those whose keys the kernel took ({@code kern.ipc.tls.stats.ifnet}'s peer). */
    long kernelSessionsTotal();

    /** Connections that asked for kernel TLS and stayed in user space for {@code cause}. */
    long kernelRefusals(KernelTlsRefusal cause);

    /** Plaintext bytes handed to the kernel to seal (file regions at their length). */
    long kernelBytesWritten();

    /**
     * Kernel sessions that closed without close_notify because this JDK cannot send a control record (before
     * JDK 22; see {@link KernelTls}).
     */
    long kernelCloseNotifyUnsent();

    // Records.

    /** TLS records sealed (encrypted), all suites ({@code kern.ipc.tls.stats.*_encrypt}). */
    long recordsSealed();

    /** TLS records sealed with {@code suite}. */
    long recordsSealed(TlsCipherSuite suite);

    /** Plaintext payload bytes sealed into records, all suites. */
    long bytesSealed();

    /** Plaintext payload bytes sealed with {@code suite}. */
    long bytesSealed(TlsCipherSuite suite);

    /** TLS records opened (verified and decrypted), all suites ({@code kern.ipc.tls.stats.*_decrypt}). */
    long recordsOpened();

    /** TLS records opened with {@code suite}. */
    long recordsOpened(TlsCipherSuite suite);

    /** Plaintext bytes recovered from opened records, all suites. */
    long bytesOpened();

    /** Plaintext bytes recovered from records opened with {@code suite}. */
    long bytesOpened(TlsCipherSuite suite);

    /** Records sealed into the caller's own buffer ({@code kern.ipc.tls.stats.ocf.inplace}). */
    long recordsSealedInPlace();

    /**
     * Records sealed into a separate output buffer, as file data always is
     * ({@code kern.ipc.tls.stats.ocf.separate_output}).
     */
    long recordsSealedSeparate();

    /** Records handed to a sealer since the JVM started. */
    long recordsQueued();

    /**
     * Records handed to a sealer and not completed (sealed or failed) yet: a gauge
     * ({@code kern.ipc.tls.stats.sw_tx_inqueue}).
     */
    long recordsInFlight();

    /**
     * Seal or open operations that failed inside the cipher and closed their connection
     * ({@code kern.ipc.tls.stats.failed_crypto}).
     */
    long cryptoFailures();

    /**
     * Received records rejected as corrupt: bad tag, bad length or framing
     * ({@code kern.ipc.tls.stats.corrupted_records}).
     */
    long corruptRecords();

    /**
     * TLS 1.2 renegotiation attempts refused: a ClientHello to a server (the connection ends with a fatal
     * no_renegotiation, as BoringSSL does) or a HelloRequest to a client (answered with a no_renegotiation warning).
     */
    long renegotiationsRefused();

    /**
     * Connections ended (unexpected_message) after 32 KeyUpdates or HelloRequests in a row without application
     * data between them (BoringSSL's {@code kMaxKeyUpdates}).
     */
    long postHandshakeMessageFloodsRefused();

    /** Connections ended (unexpected_message) after 32 empty records in a row (BoringSSL's {@code kMaxEmptyRecords}). */
    long emptyRecordFloodsRefused();

    /**
     * Connections ended (unexpected_message) after 4 warning alerts in a row without another record between them
     * (BoringSSL's {@code kMaxWarningAlerts}).
     */
    long warningAlertFloodsRefused();

    /**
     * KeyUpdate(update_requested) or HelloRequest answers not sent because the same answer was still waiting to
     * be written: one answer covers them all (RFC 8446 section 4.6.3).
     */
    long answersCoalesced();

    /**
     * Framing passes of offloading connections sealed on the event loop rather than handed to a worker: below
     * {@link KtlsConfig#offloadMinBatchBytes()} with nothing of the connection at its worker.
     */
    long offloadBatchesKeptInline();

    // Offload groups.

    /** Metrics of every {@link KtlsOffloadGroup} of the JVM that has not terminated yet, oldest first. */
    List<KtlsOffloadGroupMetric> offloadGroups();

    // Record memory budgets.

    /**
     * Every {@link RecordMemoryBudget} of the JVM not yet garbage-collected, oldest first: capacity, bytes held,
     * peak, waits and connections waiting now.
     */
    List<RecordMemoryBudgetMetric> recordMemoryBudgets();

    /**
     * A snapshot of every counter as nested maps and lists of {@code String}, {@code Long}, {@code Integer} and
     * {@code Boolean}, in a stable order, ready to render as JSON: {@code sessions}, {@code records},
     * {@code suites} (one entry per cipher suite), {@code offloadGroups} and
     * {@code recordMemoryBudgets}.
     */
    Map<String, Object> toMap();
}
