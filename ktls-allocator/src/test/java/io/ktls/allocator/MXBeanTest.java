package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class MXBeanTest {
    @Test
    void countersAreVisibleOverJmxUntilClose() throws Exception {
        PageRunAllocator allocator = PageRunAllocator.builder().name("jmx-test").arenas(1).reclaimThreads(false)
                .registerMBean(true).build();
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = allocator.registerMBean();
        try {
            ByteBuf buf = allocator.directBuffer(16384);
            assertEquals(1L, server.getAttribute(name, "InFlightRuns"));
            assertEquals(16384L, server.getAttribute(name, "InFlightBytes"));
            buf.release();
            assertEquals(0L, server.getAttribute(name, "InFlightRuns"));
            assertEquals(allocator.metric().reservedBytes(), server.getAttribute(name, "ReservedBytes"));
        } finally {
            allocator.close();
        }
        assertFalse(server.isRegistered(name));
    }
}
