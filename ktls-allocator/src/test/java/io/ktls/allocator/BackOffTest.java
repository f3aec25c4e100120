package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * The back-off after a failed run search is per size and never refuses memory that is there: a failed large run
 * does not turn away smaller runs that fit, and callers that cannot fall back to single pages (transport reads,
 * growth) always get a real attempt. One slab of 16 pages, no caching, a clock the test moves.
 */
class BackOffTest {
    private static final int PAGES = 16;

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final List<ByteBuf> held = new ArrayList<>();
    private PageRunAllocator allocator;

    private void build(MaxMemoryPolicy policy) {
        allocator = PageRunAllocator.builder().arenas(1).slabBytes(PAGES * 4096).maxRunPages(PAGES)
                .compositeFallback(true)
                .maxCachedRunPages(4).maxMemoryBytes(PAGES * 4096).maxCachedBytesPerThread(0)
                .maxMemoryPolicy(policy).runRetryIntervalNanos(TimeUnit.SECONDS.toNanos(1)).nanoClock(now::get)
                .reclaimThreads(false).build();
    }

    @AfterEach
    void close() {
        held.forEach(ByteBuf::release);
        if (allocator != null) {
            assertEquals(0, allocator.metric().inFlightRuns());
            allocator.close();
        }
    }

    private static ByteBuf unwrapped(ByteBuf buf) {
        return buf.unwrap() == null ? buf : buf.unwrap();
    }

    @Test
    void aFailedLargeRunDoesNotTurnAwaySmallerRunsThatFit() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED);
        held.add(allocator.directBuffer(4096)); // 15 pages left in one run: no run of 16
        allocator.directBuffer(PAGES * 4096).release(); // fails, served unpooled
        assertEquals(1, allocator.metric().runAllocationFailures());

        ByteBuf record = allocator.directBuffer(16384);
        ByteBuf read = allocator.ioBuffer(16384);
        try {
            assertInstanceOf(PageRunBuf.class, unwrapped(record));
            assertInstanceOf(PageRunBuf.class, unwrapped(read));
            assertEquals(0, allocator.metric().runAttemptsSkipped());
            assertEquals(0, allocator.metric().fallbackAllocations());
            assertEquals(1, allocator.metric().overflowAllocations()); // the large request only
        } finally {
            record.release();
            read.release();
        }
    }

    @Test
    void aReadBufferIsNeverTurnedAwayByTheBackOffUnderTheFailPolicy() {
        build(MaxMemoryPolicy.FAIL);
        held.addAll(FragmentedArena.holdEveryOtherPage(allocator, PAGES));
        allocator.directBuffer(8192).release(); // no run of 2: a composite of pages, and the back-off starts
        assertEquals(1, allocator.metric().runAllocationFailures());
        held.remove(held.size() - 1).release(); // pages 13..15 are now one free run
        now.addAndGet(1000); // well within the retry interval

        ByteBuf read;
        try {
            read = allocator.ioBuffer(8192); // must be contiguous: no composite to fall back to
        } catch (OutOfMemoryError e) { // caught here: surefire ends the fork on an uncaught one
            throw new AssertionError("refused with a free run of 3 pages: " + e.getMessage());
        }
        try {
            assertInstanceOf(PageRunBuf.class, unwrapped(read));
        } finally {
            read.release();
        }
    }
}
