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

    @Test
    @Tag("leak-expected")
    void aLeakedOverflowBufferIsReportedLikeEveryOtherBuffer() {
        PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).slabBytes(16 * 4096).maxRunPages(16)
                .maxMemoryBytes(16 * 4096).reclaimThreads(false).build();
        ByteBuf whole = allocator.directBuffer(16 * 4096); // every page of the only slab
        try {
            LeakReportExtension.collectReports();
            leakOneOverflowBuffer(allocator);
            assertEquals(1, allocator.metric().overflowAllocations());
            List<String> reports = LeakReportExtension.collectReports();
            assertTrue(reports.stream().anyMatch(r -> r.contains("leakOneOverflowBuffer")),
                    "no leak report naming the allocation site: " + reports);
        } finally {
            whole.release();
            allocator.close();
        }
    }

    private static void leakOneOverflowBuffer(PageRunAllocator allocator) {
        ByteBuf overflow = allocator.directBuffer(4096);
        overflow.writeLong(1);
    }

    private static void leakOneRun(PageRunAllocator allocator) {
        ByteBuf run = allocator.directBuffer(16384);
        run.writeLong(1);
    }
}
