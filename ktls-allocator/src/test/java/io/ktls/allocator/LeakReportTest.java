package io.ktls.allocator;

import io.ktls.testing.LeakReportExtension;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeakReportTest {

    @Test
    @Tag("leak-expected")
    void aLeakedRunIsReportedByNettysLeakDetector() {
        PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        try {
            LeakReportExtension.collectReports();
            leakOneRun(allocator);
            List<String> reports = LeakReportExtension.collectReports();
            assertTrue(reports.stream().anyMatch(r -> r.contains("leakOneRun")),
                    "no leak report naming the allocation site: " + reports);
            // The leaked run was never released: it is still in flight, and says so.
            assertEquals(1, allocator.metric().inFlightRuns());
        } finally {
            allocator.close();
        }
    }

    private static void leakOneRun(PageRunAllocator allocator) {
        ByteBuf run = allocator.directBuffer(16384);
        run.writeLong(1);
    }
}
