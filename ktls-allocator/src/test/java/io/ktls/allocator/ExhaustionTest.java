package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One slab of 16 pages, no caching: every other page in use leaves 8 free pages and no run of 2, which forces
 * the single-page fallback (in a pool built with it), the rate limit and, once the pages run out, the policy at
 * the limit.
 */
class ExhaustionTest {
    private static final int PAGES = 16;
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final List<ByteBuf> held = new ArrayList<>();
    private PageRunAllocator allocator;

    /** A pool with the single-page composite fallback, which most tests here are about. */
    private PageRunAllocator build(MaxMemoryPolicy policy) {
        return build(policy, true);
    }

    private PageRunAllocator build(MaxMemoryPolicy policy, boolean compositeFallback) {
        allocator = PageRunAllocator.builder().compositeFallback(compositeFallback).arenas(1).slabBytes(PAGES * 4096)
                .maxRunPages(PAGES)
                .maxMemoryBytes(PAGES * 4096).maxCachedBytesPerThread(0).maxMemoryPolicy(policy)
                .runRetryIntervalNanos(RETRY_NANOS).nanoClock(now::get).reclaimThreads(false).build();
        return allocator;
    }

    @AfterEach
    void close() {
        held.forEach(ByteBuf::release);
        if (allocator != null) {
            assertEquals(0, allocator.metric().inFlightRuns());
            assertEquals(0, allocator.metric().inFlightBytes());
            allocator.close();
        }
    }

    /** A request the fragmented pool had no run for: one region of overflow memory, writable; then released. */
    private void assertOneRegionFromOverflow(ByteBuf buf) {
        try {
            assertWritableThroughItsView(buf);
            assertEquals(1, allocator.metric().overflowAllocations());
            assertEquals(0, allocator.metric().fallbackAllocations());
        } finally {
            buf.release();
        }
    }

    /** One region, and what is written through its NIO view is in the buffer. */
    private static void assertWritableThroughItsView(ByteBuf buf) {
        assertTrue(buf.nioBufferCount() == 1 && buf.isContiguous());
        ByteBuffer view = buf.nioBuffer(0, buf.capacity());
        for (int i = 0; i < buf.capacity(); i++) {
            view.put(i, (byte) (i * 7));
        }
        for (int i = 0; i < buf.capacity(); i++) {
            assertEquals((byte) (i * 7), buf.getByte(i), "byte " + i + " written through the view");
        }
    }

    /** Leaves pages 1, 3, 5, ... 15 free. */
    private void fragment() {
        held.addAll(FragmentedArena.holdEveryOtherPage(allocator, PAGES));
        assertEquals(PAGES / 2, allocator.currentArena().freePages());
        assertEquals(1, allocator.currentArena().largestFreeRunPages());
    }

    @Test
    void exhaustionGivesCorrectBytesThroughTheSinglePageFallbackAndCountsIt() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED);
        fragment();
        ByteBuf record = allocator.directBuffer(16384);
        try {
            ByteBuf inner = record.unwrap() == null ? record : record.unwrap();
            assertInstanceOf(CompositeByteBuf.class, inner);
            assertEquals(16384, record.capacity());
            assertEquals(1, allocator.metric().fallbackAllocations());
            assertEquals(1, allocator.metric().runAllocationFailures());
            assertEquals(4, allocator.metric().inFlightRuns() - PAGES / 2);
            for (int i = 0; i < 16384; i++) {
                record.writeByte(i * 13 + (i >>> 8));
            }
            for (int i = 0; i < 16384; i++) {
                assertEquals((byte) (i * 13 + (i >>> 8)), record.readByte(), "byte " + i);
            }
            assertEquals(0, allocator.metric().overflowAllocations());
        } finally {
            assertTrue(record.release());
        }
        assertEquals(0, record.refCnt());
        assertEquals(PAGES / 2, allocator.currentArena().freePages());
    }

    @Test
    void theRateLimitSkipsTheSlowStepsOfTheFailedSizeForOneIntervalButNeverAFreeRun() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED);
        fragment();
        allocator.directBuffer(8192).release();
        assertEquals(1, allocator.metric().runAllocationFailures());
        assertEquals(0, allocator.metric().runAttemptsSkipped());

        // Within the interval, with still no run of 2: the slow steps are skipped, straight to the fallback.
        now.addAndGet(RETRY_NANOS - 1);
        ByteBuf skipped = allocator.directBuffer(8192);
        assertInstanceOf(CompositeByteBuf.class, skipped.unwrap() == null ? skipped : skipped.unwrap());
        skipped.release();
        assertEquals(1, allocator.metric().runAttemptsSkipped());
        assertEquals(1, allocator.metric().runAllocationFailures());
        assertEquals(2, allocator.metric().fallbackAllocations());

        // Still within the interval, a free run that fits is used: the back-off never refuses memory that is there.
        ByteBuf freed = held.remove(held.size() - 1); // page 14: pages 13..15 become one free run
        freed.release();
        ByteBuf run = allocator.directBuffer(8192);
        assertInstanceOf(PageRunBuf.class, run.unwrap() == null ? run : run.unwrap());
        run.release();
        assertEquals(1, allocator.metric().runAttemptsSkipped());

        // After the interval: a real attempt again, which fails (no run of 4) and is counted.
        now.addAndGet(1);
        allocator.directBuffer(16384).release();
        assertEquals(1, allocator.metric().runAttemptsSkipped());
        assertEquals(2, allocator.metric().runAllocationFailures());
    }

    @Test
    void transportReadBuffersStayContiguousUnderFragmentation() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED);
        fragment();
        ByteBuf read = allocator.ioBuffer(16384);
        try {
            assertTrue(read.nioBufferCount() == 1 && read.isContiguous());
            assertEquals(1, allocator.metric().overflowAllocations());
            assertEquals(0, allocator.metric().fallbackAllocations());
        } finally {
            read.release();
        }
    }

    @Test
    void byDefaultAMultiPageDirectBufferStaysOneRegionUnderFragmentation() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED, false);
        fragment();
        // Netty's SslHandler wraps into this view: a composite's would be a copy, and the record lost.
        assertOneRegionFromOverflow(allocator.directBuffer(16384));
        assertEquals(PAGES / 2, allocator.currentArena().freePages());
    }

    @Test
    void byDefaultTheFailPolicyRefusesAMultiPageDirectBufferRatherThanGivePages() {
        build(MaxMemoryPolicy.FAIL, false);
        fragment();
        OutOfMemoryError refused = assertThrows(OutOfMemoryError.class, () -> allocator.directBuffer(8192));
        assertTrue(refused.getMessage().contains("maxMemoryBytes"), refused.getMessage());
        assertEquals(0, allocator.metric().fallbackAllocations());
        assertEquals(PAGES / 2, allocator.currentArena().freePages(), "nothing taken");
        ByteBuf page = allocator.directBuffer(4096);
        page.release(); // single pages are still served
    }

    @Test
    void internalBuffersStayContiguousUnderFragmentation() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED);
        fragment();
        // Sealed through its NIO view: a composite's view of several pages would be a copy of them.
        assertOneRegionFromOverflow(allocator.internalDirectBuffer(16384, 16384));
    }

    @Test
    void atTheLimitOverflowBuffersAreUnpooledAndCounted() {
        build(MaxMemoryPolicy.OVERFLOW_UNPOOLED);
        for (int i = 0; i < PAGES; i++) {
            held.add(allocator.directBuffer(4096));
        }
        ByteBuf overflow = allocator.directBuffer(4096);
        try {
            assertEquals(1, allocator.metric().overflowAllocations());
            assertEquals(4096, allocator.metric().unpooledBytes());
            assertEquals(PAGES * 4096L, allocator.metric().reservedBytes());
            overflow.writeInt(7);
            assertEquals(7, overflow.readInt());
        } finally {
            overflow.release();
        }
        assertEquals(0, allocator.metric().unpooledBytes());
    }

    @Test
    void atTheLimitTheFailPolicyThrowsAnErrorNamingTheLimitAndKeepsNothing() {
        build(MaxMemoryPolicy.FAIL);
        fragment();
        for (int i = 0; i < PAGES / 2; i++) {
            held.add(allocator.directBuffer(4096));
        }
        long inFlight = allocator.metric().inFlightRuns();
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> allocator.directBuffer(16384));
        assertTrue(e.getMessage().contains("maxMemoryBytes " + PAGES * 4096), e.getMessage());
        assertEquals(inFlight, allocator.metric().inFlightRuns());
        // Bulk allocation reports the shortfall instead of throwing, and the caller owns what it got.
        ByteBuf[] out = new ByteBuf[4];
        assertEquals(0, allocator.allocateRuns(1, out, 0, 4));
        assertFalse(out[0] != null);
    }
}
