package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class BulkTest {
    private final PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(1).reclaimThreads(false).build();

    @AfterEach
    void close() {
        allocator.close();
    }

    @Test
    void allocateRunsFillsTheSlotsWithDistinctRecordRunsAndReleaseAllClearsThem() {
        ByteBuf[] out = new ByteBuf[70];
        assertEquals(64, allocator.allocateRuns(4, out, 3, 64));
        assertNull(out[2]);
        assertNull(out[67]);
        ByteBuf[] kept = Arrays.copyOf(out, out.length);
        long[] offsets = new long[64];
        for (int i = 0; i < 64; i++) {
            ByteBuf buf = out[3 + i];
            assertEquals(16384, buf.capacity());
            buf.writeLong(i);
            PageRunBuf run = (PageRunBuf) (buf.unwrap() == null ? buf : buf.unwrap());
            assertEquals(4, run.pages);
            offsets[i] = (long) System.identityHashCode(run.slab) << 32 | run.offset;
        }
        assertEquals(64, Arrays.stream(offsets).distinct().count());
        for (int i = 0; i < 64; i++) {
            assertEquals(i, out[3 + i].getLong(0));
        }
        assertEquals(64, allocator.metric().inFlightRuns());
        assertEquals(64 * 16384L, allocator.metric().inFlightBytes());
        allocator.releaseAll(out, 0, out.length);
        for (int i = 0; i < out.length; i++) {
            assertNull(out[i]);
            if (kept[i] != null) {
                assertEquals(0, kept[i].refCnt());
            }
        }
        assertEquals(0, allocator.metric().inFlightRuns());
        assertEquals(0, allocator.metric().inFlightBytes());
    }

    @Test
    void runsAllocatedInBulkOnOneThreadCanBeReleasedInBulkOnAnother() throws Exception {
        ByteBuf[] out = new ByteBuf[32];
        assertEquals(32, allocator.allocateRuns(16, out, 0, 32)); // 64 KiB runs, the largest cached size
        Thread releaser = new Thread(() -> allocator.releaseAll(out, 0, out.length));
        releaser.start();
        releaser.join();
        assertEquals(32, allocator.metric().remoteReleases());
        assertEquals(0, allocator.metric().inFlightRuns());
    }

    @Test
    void uncachedRunSizesWorkInBulkToo() {
        ByteBuf[] out = new ByteBuf[4];
        assertEquals(4, allocator.allocateRuns(64, out, 0, 4));
        assertEquals(4, allocator.metric().arenaAllocations());
        allocator.releaseAll(out, 0, 4);
        assertEquals(0, allocator.metric().inFlightBytes());
    }
}
