package io.ktls.handler.offload;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsOffloadGroupMetric;
import io.ktls.handler.RecordMemoryBudget;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KtlsMetricMBeanTest {

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();

    @AfterEach
    void unregister() {
        KtlsMetric.unregisterMBean();
    }

    @Test
    void registeringTwiceIsHarmless() throws Exception {
        KtlsMetric.unregisterMBean();
        assertTrue(KtlsMetric.registerMBean());
        assertFalse(KtlsMetric.registerMBean(), "second registration should report the existing bean");
        assertTrue(server.isRegistered(new ObjectName(KtlsMetric.OBJECT_NAME)));
        assertTrue(KtlsMetric.unregisterMBean());
        assertFalse(KtlsMetric.unregisterMBean());
        assertFalse(server.isRegistered(new ObjectName(KtlsMetric.OBJECT_NAME)));
    }

    @Test
    void beanAttributesReadTheGlobalCounters() throws Exception {
        KtlsMetric.registerMBean();
        ObjectName name = new ObjectName(KtlsMetric.OBJECT_NAME);
        KtlsMetric metric = KtlsMetric.global();
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        long sealedBefore = (Long) server.getAttribute(name, "RecordsSealed");
        long bytesBefore = (Long) server.getAttribute(name, "BytesSealed");
        long suiteBefore = (Long) ((TabularData) server.getAttribute(name, "RecordsSealedBySuite"))
                .get(new Object[] {suite.name()}).get("value");

        // One real download of 4 full records (plus a close_notify) moves the counters.
        int payloadBytes = 4 * 16384;
        try (DownloadServer tls = new DownloadServer(KtlsConfig.defaults(), UnpooledByteBufAllocator.DEFAULT,
                request -> Unpooled.wrappedBuffer(new byte[payloadBytes]));
             DownloadClient client = new DownloadClient(1)) {
            DownloadClient.Result result = client.download(tls.address(), (byte) 'G', Long.MAX_VALUE)
                    .get(20, TimeUnit.SECONDS);
            assertEquals(payloadBytes, result.bytes, String.valueOf(result));
        }

        // Other connections of this JVM may still wind down, so compare with bounds, not exact values.
        long sealed = (Long) server.getAttribute(name, "RecordsSealed");
        assertTrue(sealed >= sealedBefore + 4, "RecordsSealed " + sealedBefore + " -> " + sealed);
        assertTrue(sealed <= metric.recordsSealed());
        long bytes = (Long) server.getAttribute(name, "BytesSealed");
        assertTrue(bytes >= bytesBefore + payloadBytes, "BytesSealed " + bytesBefore + " -> " + bytes);
        TabularData bySuite = (TabularData) server.getAttribute(name, "RecordsSealedBySuite");
        assertEquals(TlsCipherSuite.values().length, bySuite.size());
        CompositeData perSuite = bySuite.get(new Object[] {suite.name()});
        assertNotNull(perSuite);
        assertTrue((Long) perSuite.get("value") >= suiteBefore + 4, "the download's suite did not move");
        assertTrue((Long) server.getAttribute(name, "SessionsTotal") >= 1);
        assertTrue((Long) server.getAttribute(name, "ActiveSessions") >= 0);
        assertTrue((Long) server.getAttribute(name, "RecordsInFlight") >= 0);
    }

    @Test
    void beanShowsEachLiveOffloadGroupWithItsQueues() throws Exception {
        KtlsMetric.registerMBean();
        ObjectName name = new ObjectName(KtlsMetric.OBJECT_NAME);
        EmbeddedChannel channel = new EmbeddedChannel(DefaultChannelId.newInstance());
        KtlsOffloadGroup group = new KtlsOffloadGroup(3);
        String groupName = group.metric().name();
        try {
            CountDownLatch blocked = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            group.workerFor(channel).execute(() -> {
                blocked.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(blocked.await(5, TimeUnit.SECONDS));
            for (int i = 0; i < 5; i++) {
                group.workerFor(channel).execute(() -> { });
            }
            CompositeData ours = findGroup((CompositeData[]) server.getAttribute(name, "OffloadGroups"), groupName);
            assertNotNull(ours, groupName + " missing from the bean");
            assertEquals(3, ours.get("workers"));
            long[] queued = (long[]) ours.get("queuedTasks");
            assertEquals(3, queued.length);
            assertEquals(5, queued[0] + queued[1] + queued[2]);
            assertTrue(KtlsMetric.global().offloadGroups().contains(group.metric()));

            Map<String, Object> map = KtlsMetric.global().toMap();
            assertTrue(map.get("offloadGroups").toString().contains(groupName));
            release.countDown();
        } finally {
            group.close();
            channel.close();
        }
        long[] executed = new long[3];
        KtlsOffloadGroupMetric metric = group.metric();
        for (int i = 0; i < 3; i++) {
            executed[i] += metric.workerMetrics().get(i).executedTasks();
        }
        assertEquals(6, executed[0] + executed[1] + executed[2]);
        assertFalse(KtlsMetric.global().offloadGroups().contains(metric), "terminated group still listed");
        assertEquals(null, findGroup((CompositeData[]) server.getAttribute(name, "OffloadGroups"), groupName));
        assertArrayEquals(new long[] {0, 0, 0}, new long[] {
                metric.workerMetrics().get(0).queuedTasks(), metric.workerMetrics().get(1).queuedTasks(),
                metric.workerMetrics().get(2).queuedTasks()});
    }

    @Test
    void beanShowsEachLiveRecordMemoryBudget() throws Exception {
        KtlsMetric.registerMBean();
        ObjectName name = new ObjectName(KtlsMetric.OBJECT_NAME);
        RecordMemoryBudget budget = new RecordMemoryBudget("mbeanTest", 12345, 3);
        CompositeData shown = findGroup((CompositeData[]) server.getAttribute(name, "RecordMemoryBudgets"),
                "mbeanTest");
        assertNotNull(shown, "mbeanTest missing from the bean");
        assertEquals(12345L, shown.get("capacityBytes"));
        assertEquals(3, shown.get("guaranteedRecordsPerConnection"));
        assertEquals(0L, shown.get("usedBytes"));
        assertEquals(0, shown.get("waitingConnections"));
        assertTrue(KtlsMetric.global().recordMemoryBudgets().contains(budget));
    }

    private static CompositeData findGroup(CompositeData[] groups, String groupName) {
        for (CompositeData group : groups) {
            if (groupName.equals(group.get("name"))) {
                return group;
            }
        }
        return null;
    }

    /** Every counter of {@link KtlsMetric} (a getter taking nothing and returning a long) is a JMX attribute too. */
    @Test
    void everyGlobalCounterIsAnAttribute() throws Exception {
        KtlsMetric.registerMBean();
        ObjectName name = new ObjectName(KtlsMetric.OBJECT_NAME);
        Set<String> attributes = new HashSet<>();
        for (MBeanAttributeInfo attribute : server.getMBeanInfo(name).getAttributes()) {
            attributes.add(attribute.getName());
        }
        List<String> missing = new ArrayList<>();
        for (Method getter : KtlsMetric.class.getMethods()) {
            if (getter.getParameterCount() == 0 && getter.getReturnType() == long.class
                    && !Modifier.isStatic(getter.getModifiers())) {
                String attribute = Character.toUpperCase(getter.getName().charAt(0)) + getter.getName().substring(1);
                if (!attributes.contains(attribute)) {
                    missing.add(attribute);
                }
            }
        }
        assertTrue(missing.isEmpty(), "KtlsMetric counters without a JMX attribute: " + missing);
    }
}

