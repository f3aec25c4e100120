package io.ktls.handler.metrics;

import io.ktls.handler.KernelTlsRefusal;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroupMetric;
import io.ktls.handler.RecordMemoryBudgetMetric;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.util.internal.ObjectUtil;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Publishes a {@link KtlsMetric} as the MXBean {@value KtlsMetric#OBJECT_NAME}; use
 * {@link KtlsMetric#registerMBean()} rather than this class. Every attribute read goes to the live counters.
 */
public final class KtlsMetricBean implements KtlsMetricMXBean {

    private static final ObjectName NAME;

    static {
        try {
            NAME = new ObjectName(KtlsMetric.OBJECT_NAME);
        } catch (MalformedObjectNameException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final KtlsMetric metric;

    private KtlsMetricBean(KtlsMetric metric) {
        this.metric = ObjectUtil.checkNotNull(metric, "metric");
    }

    /**
     * Registers {@code metric} with the platform MBean server unless a bean of that name exists already.
     *
     * @return {@code true} when this call registered it, {@code false} when one was registered before
     */
    public static boolean register(KtlsMetric metric) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            server.registerMBean(new KtlsMetricBean(metric), NAME);
            return true;
        } catch (InstanceAlreadyExistsException e) {
            return false;
        } catch (JMException e) {
            throw new IllegalStateException("cannot register " + NAME, e);
        }
    }

    /** Unregisters the bean; {@code false} when none was registered. */
    public static boolean unregister() {
        try {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(NAME);
            return true;
        } catch (InstanceNotFoundException e) {
            return false;
        } catch (JMException e) {
            throw new IllegalStateException("cannot unregister " + NAME, e);
        }
    }

    @Override
    public long getActiveSessions() {
        return metric.activeSessions();
    }

    @Override
    public long getActiveInlineSessions() {
        return metric.activeInlineSessions();
    }

    @Override
    public long getActiveOffloadSessions() {
        return metric.activeOffloadSessions();
    }

    @Override
    public long getSessionsTotal() {
        return metric.sessionsTotal();
    }

    @Override
    public long getActiveKernelSessions() {
        return metric.activeKernelSessions();
    }

    @Override
    public long getKernelSessionsTotal() {
        return metric.kernelSessionsTotal();
    }

    @Override
    public Map<String, Long> getKernelRefusals() {
        Map<String, Long> refusals = new LinkedHashMap<>();
        for (KernelTlsRefusal cause : KernelTlsRefusal.values()) {
            refusals.put(cause.name(), metric.kernelRefusals(cause));
        }
        return refusals;
    }

    @Override
    public long getKernelBytesWritten() {
        return metric.kernelBytesWritten();
    }

    @Override
    public long getKernelCloseNotifyUnsent() {
        return metric.kernelCloseNotifyUnsent();
    }

    @Override
    public long getOffloadSessionsTotal() {
        return metric.offloadSessionsTotal();
    }

    @Override
    public long getFallbacks() {
        return metric.fallbacks();
    }

    @Override
    public long getRecordsSealed() {
        return metric.recordsSealed();
    }

    @Override
    public long getBytesSealed() {
        return metric.bytesSealed();
    }

    @Override
    public long getRecordsOpened() {
        return metric.recordsOpened();
    }

    @Override
    public long getBytesOpened() {
        return metric.bytesOpened();
    }

    @Override
    public long getRecordsSealedInPlace() {
        return metric.recordsSealedInPlace();
    }

    @Override
    public long getRecordsSealedSeparate() {
        return metric.recordsSealedSeparate();
    }

    @Override
    public long getRecordsQueued() {
        return metric.recordsQueued();
    }

    @Override
    public long getRecordsInFlight() {
        return metric.recordsInFlight();
    }

    @Override
    public long getCryptoFailures() {
        return metric.cryptoFailures();
    }

    @Override
    public long getCorruptRecords() {
        return metric.corruptRecords();
    }

    @Override
    public long getRenegotiationsRefused() {
        return metric.renegotiationsRefused();
    }

    @Override
    public long getPostHandshakeMessageFloodsRefused() {
        return metric.postHandshakeMessageFloodsRefused();
    }

    @Override
    public long getEmptyRecordFloodsRefused() {
        return metric.emptyRecordFloodsRefused();
    }

    @Override
    public long getWarningAlertFloodsRefused() {
        return metric.warningAlertFloodsRefused();
    }

    @Override
    public long getAnswersCoalesced() {
        return metric.answersCoalesced();
    }

    @Override
    public long getOffloadBatchesKeptInline() {
        return metric.offloadBatchesKeptInline();
    }

    @Override
    public Map<String, Long> getActiveSessionsBySuite() {
        return bySuite(metric::activeSessions);
    }

    @Override
    public Map<String, Long> getRecordsSealedBySuite() {
        return bySuite(metric::recordsSealed);
    }

    @Override
    public Map<String, Long> getBytesSealedBySuite() {
        return bySuite(metric::bytesSealed);
    }

    @Override
    public Map<String, Long> getRecordsOpenedBySuite() {
        return bySuite(metric::recordsOpened);
    }

    @Override
    public Map<String, Long> getBytesOpenedBySuite() {
        return bySuite(metric::bytesOpened);
    }

    @Override
    public List<OffloadGroupStats> getOffloadGroups() {
        List<OffloadGroupStats> groups = new ArrayList<>();
        for (KtlsOffloadGroupMetric group : metric.offloadGroups()) {
            groups.add(new OffloadGroupStats(group));
        }
        return groups;
    }

    @Override
    public List<RecordMemoryBudgetStats> getRecordMemoryBudgets() {
        List<RecordMemoryBudgetStats> budgets = new ArrayList<>();
        for (RecordMemoryBudgetMetric budget : metric.recordMemoryBudgets()) {
            budgets.add(new RecordMemoryBudgetStats(budget));
        }
        return budgets;
    }

    private static Map<String, Long> bySuite(ToLongFunction<TlsCipherSuite> counter) {
        Map<String, Long> map = new LinkedHashMap<>();
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            map.put(suite.name(), counter.applyAsLong(suite));
        }
        return map;
    }
}
