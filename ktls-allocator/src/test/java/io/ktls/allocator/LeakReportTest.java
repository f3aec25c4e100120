package io.ktls.allocator;

import io.ktls.testing.LeakReportExtension;
import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
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

    @Test
    @Tag("leak-expected")
    void aLeakedInternalBufferIsReportedAtParanoid() {
        PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        try {
            LeakReportExtension.collectReports();
            leakOneInternalRun(allocator);
            List<String> reports = LeakReportExtension.collectReports();
            assertTrue(reports.stream().anyMatch(r -> r.contains("leakOneInternalRun")),
                    "no leak report naming the allocation site: " + reports);
        } finally {
            allocator.close();
        }
    }

    @Test
    void internalBuffersAreNeverSampledAndStillCounted() {
        ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
        PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        try {
            for (ResourceLeakDetector.Level sampling : List.of(ResourceLeakDetector.Level.SIMPLE,
                    ResourceLeakDetector.Level.ADVANCED)) {
                ResourceLeakDetector.setLevel(sampling);
                // Netty samples one allocation in 128 and wraps it; 4,096 allocations miss all samples with a
                // probability of about 1e-14. The internal buffer is the pooled region itself every time.
                int trackedWrapped = 0;
                for (int i = 0; i < 4096; i++) {
                    ByteBuf internal = allocator.internalDirectBuffer(16384, 16384);
                    ByteBuf tracked = allocator.directBuffer(16384, 16384);
                    assertInstanceOf(PageRunBuf.class, internal, sampling + " wrapped an internal buffer");
                    if (!(tracked instanceof PageRunBuf)) {
                        trackedWrapped++;
                    }
                    assertEquals(2, allocator.metric().inFlightRuns());
                    internal.writeLong(i);
                    assertTrue(internal.release());
                    assertTrue(tracked.release());
                }
                assertTrue(trackedWrapped > 0,
                        sampling + " sampled no ordinary buffer: the check above proves nothing");
                assertEquals(0, allocator.metric().inFlightRuns());
            }
        } finally {
            ResourceLeakDetector.setLevel(level);
            allocator.close();
        }
    }

    @Test
    void emptyRequestsGetTheSharedEmptyBufferUntracked() {
        PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).reclaimThreads(false).build();
        try {
            LeakReportExtension.collectReports();
            for (int i = 0; i < 3; i++) {
                assertSame(allocator.directBuffer(0, 0), allocator.ioBuffer(0, 0));
                assertSame(allocator.directBuffer(0, 0), allocator.internalDirectBuffer(0, 0));
            }
            assertEquals(List.of(), LeakReportExtension.collectReports());
        } finally {
            allocator.close();
        }
    }

    private static void leakOneInternalRun(PageRunAllocator allocator) {
        ByteBuf run = allocator.internalDirectBuffer(16384, 16384);
        run.writeLong(1);
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
