package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs are carved from the right pages and coalesce back when freed. Caching is off so frees reach the arena. */
class PageRunArithmeticTest {
    private static final int SLAB_PAGES = 64;

    private final PageRunAllocator allocator = PageRunAllocator.builder()
            .arenas(1).slabBytes(SLAB_PAGES * PageRunAllocator.PAGE_BYTES).maxRunPages(SLAB_PAGES)
            .maxMemoryBytes(SLAB_PAGES * PageRunAllocator.PAGE_BYTES).maxCachedBytesPerThread(0)
            .reclaimThreads(false).build();

    @AfterEach
    void close() {
        allocator.close();
    }

    private static PageRunBuf run(ByteBuf buf) {
        return (PageRunBuf) (buf.unwrap() == null ? buf : buf.unwrap());
    }

    @Test
    void regionBytesIsTheFragmentOrWholePagesARequestTakes() {
        assertEquals(64, PageRunAllocator.regionBytes(0));
        assertEquals(64, PageRunAllocator.regionBytes(22));
        assertEquals(128, PageRunAllocator.regionBytes(65));
        assertEquals(2048, PageRunAllocator.regionBytes(2048));
        assertEquals(4096, PageRunAllocator.regionBytes(2049));
        assertEquals(16384, PageRunAllocator.regionBytes(16384));
        assertEquals(20480, PageRunAllocator.regionBytes(16384 + 22));
    }

    @Test
    void requestSizesRoundUpToWholePages() {
        assertEquals(1, SizeClasses.pagesFor(1));
        assertEquals(1, SizeClasses.pagesFor(4096));
        assertEquals(2, SizeClasses.pagesFor(4097));
        assertEquals(4, SizeClasses.pagesFor(16384));
        assertEquals(5, SizeClasses.pagesFor(16384 + 29));
        assertEquals(524288, SizeClasses.pagesFor(Integer.MAX_VALUE));
        ByteBuf record = allocator.directBuffer(16384 + 29);
        try {
            assertEquals(5, run(record).pages);
            assertEquals(5 * 4096, run(record).regionBytes);
        } finally {
            record.release();
        }
    }

    @Test
    void runsAreDisjointPageAlignedAndFitTheSlabExactly() {
        List<ByteBuf> bufs = new ArrayList<>();
        int pages = 0;
        for (int n = 1; pages + n <= SLAB_PAGES; n++) {
            bufs.add(allocator.directBuffer(n * 4096));
            pages += n;
        }
        boolean[] used = new boolean[SLAB_PAGES];
        for (ByteBuf buf : bufs) {
            PageRunBuf r = run(buf);
            assertEquals(r.firstPage * 4096, r.offset);
            for (int p = r.firstPage; p < r.firstPage + r.pages; p++) {
                assertTrue(!used[p], "page " + p + " handed out twice");
                used[p] = true;
            }
        }
        assertEquals(SLAB_PAGES - pages, allocator.currentArena().freePages());
        for (ByteBuf buf : bufs) {
            buf.release();
        }
    }

    @Test
    void freedRunsCoalesceIntoOneWholeSlabInAnyOrder() {
        Random random = new Random(7);
        for (int round = 0; round < 20; round++) {
            List<ByteBuf> bufs = new ArrayList<>();
            int pages = 0;
            while (true) {
                int n = 1 + random.nextInt(8);
                if (pages + n > SLAB_PAGES) {
                    break;
                }
                bufs.add(allocator.directBuffer(n * 4096));
                pages += n;
            }
            Collections.shuffle(bufs, random);
            for (ByteBuf buf : bufs) {
                buf.release();
            }
            Arena arena = allocator.currentArena();
            assertEquals(1, arena.freeRunCount(), "round " + round);
            assertEquals(SLAB_PAGES, arena.largestFreeRunPages(), "round " + round);
        }
        ByteBuf whole = allocator.directBuffer(SLAB_PAGES * 4096);
        assertEquals(0, run(whole).firstPage);
        whole.release();
    }

    @Test
    void bestFitKeepsTheLongFreeRunIntact() {
        ByteBuf a = allocator.directBuffer(4096);
        ByteBuf gapMaker = allocator.directBuffer(2 * 4096);
        ByteBuf b = allocator.directBuffer(4096);
        gapMaker.release(); // a 2-page hole at pages 1..2, and the 60-page tail
        ByteBuf two = allocator.directBuffer(2 * 4096);
        try {
            assertEquals(1, run(two).firstPage);
            assertEquals(SLAB_PAGES - 4, allocator.currentArena().largestFreeRunPages());
        } finally {
            a.release();
            b.release();
            two.release();
        }
    }

    @Test
    void fragmentPageReturnsToTheSlabWhenAllItsFragmentsAreFreeAndAnotherPageOfItsClassExists() {
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 32; i++) { // 2 pages of 16 x 256 B
            bufs.add(allocator.directBuffer(256));
        }
        assertEquals(SLAB_PAGES - 2, allocator.currentArena().freePages());
        for (ByteBuf buf : bufs) {
            buf.release();
        }
        // One page of the class is kept cut for the next burst; the other went back.
        assertEquals(SLAB_PAGES - 1, allocator.currentArena().freePages());
        assertEquals(0, allocator.metric().inFlightRuns());
    }
}
