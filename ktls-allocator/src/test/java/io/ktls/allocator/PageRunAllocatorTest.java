package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PageRunAllocatorTest {
    private final PageRunAllocator allocator = PageRunAllocator.builder().cacheAllThreads(true).arenas(1).reclaimThreads(false).build();

    @AfterEach
    void close() {
        allocator.close();
    }

    private static ByteBuf unwrapped(ByteBuf buf) {
        ByteBuf inner = buf.unwrap();
        return inner == null ? buf : inner;
    }

    @Test
    void recordSizedRunIsFourPageAlignedPagesAndReportsRequestedCapacity() {
        ByteBuf buf = allocator.directBuffer(16384);
        try {
            PageRunBuf run = (PageRunBuf) unwrapped(buf);
            assertEquals(16384, buf.capacity());
            assertEquals(4, run.pages);
            assertEquals(0, run.offset % PageRunAllocator.PAGE_BYTES);
            assertTrue(buf.isDirect());
            if (buf.hasMemoryAddress()) {
                assertEquals(0, buf.memoryAddress() % PageRunAllocator.PAGE_BYTES);
            }
        } finally {
            buf.release();
        }
    }

    @Test
    void smallRequestsComeFromPageFragmentsOfThePowerOfTwoClass() {
        ByteBuf header = allocator.directBuffer(200);
        ByteBuf tiny = allocator.directBuffer(1);
        try {
            PageRunBuf h = (PageRunBuf) unwrapped(header);
            PageRunBuf t = (PageRunBuf) unwrapped(tiny);
            assertTrue(h.isFragment());
            assertEquals(256, h.regionBytes);
            assertEquals(64, t.regionBytes);
            assertEquals(200, header.capacity());
        } finally {
            header.release();
            tiny.release();
        }
    }

    @Test
    void releasedRunIsHandedOutAgainFromTheThreadCache() {
        ByteBuf first = allocator.directBuffer(16384);
        PageRunBuf run = (PageRunBuf) unwrapped(first);
        int offset = run.offset;
        first.release();
        long hitsBefore = allocator.metric().cacheHitAllocations();
        ByteBuf second = allocator.directBuffer(16000);
        try {
            assertEquals(offset, ((PageRunBuf) unwrapped(second)).offset);
            assertEquals(hitsBefore + 1, allocator.metric().cacheHitAllocations());
        } finally {
            second.release();
        }
        assertEquals(0, allocator.metric().inFlightRuns());
        assertEquals(0, allocator.metric().inFlightBytes());
    }

    @Test
    void primitivesAndBulkAccessRoundTripInBothByteOrders() {
        ByteBuf buf = allocator.directBuffer(64);
        try {
            buf.writeByte(0x11).writeShort(0x2233).writeShortLE(0x4455).writeMedium(0x667788).writeMediumLE(0x99aabb)
                    .writeInt(0xccddeeff).writeIntLE(0x01020304).writeLong(0x0506070809101112L)
                    .writeLongLE(0x1314151617181920L);
            assertEquals(0x11, buf.readByte());
            assertEquals(0x2233, buf.readShort());
            assertEquals(0x4455, buf.readShortLE());
            assertEquals(0x667788, buf.readMedium());
            assertEquals(0x99aabb, buf.readUnsignedMediumLE());
            assertEquals(0xccddeeff, buf.readInt());
            assertEquals(0x01020304, buf.readIntLE());
            assertEquals(0x0506070809101112L, buf.readLong());
            assertEquals(0x1314151617181920L, buf.readLongLE());
            assertEquals(0x33, buf.getByte(2));
            assertEquals(0x55, buf.getByte(3));
        } finally {
            buf.release();
        }
    }

    @Test
    void capacityGrowthMovesContentIntoALargerRunAndFreesTheOldOne() {
        ByteBuf buf = allocator.directBuffer(100);
        try {
            for (int i = 0; i < 20000; i++) {
                buf.writeByte(i);
            }
            assertTrue(buf.capacity() >= 20000);
            for (int i = 0; i < 20000; i++) {
                assertEquals((byte) i, buf.getByte(i));
            }
            assertEquals(1, allocator.metric().inFlightRuns());
        } finally {
            buf.release();
        }
        assertEquals(0, allocator.metric().inFlightRuns());
        assertEquals(0, allocator.metric().inFlightBytes());
    }

    @Test
    void copiesBetweenBuffersOfThisAllocatorHeapAndNioWork() {
        ByteBuf a = allocator.directBuffer(8192);
        ByteBuf b = allocator.directBuffer(8192);
        ByteBuf heap = allocator.heapBuffer(8192);
        try {
            for (int i = 0; i < 8192; i++) {
                a.writeByte(i * 7);
            }
            b.writeBytes(a, 0, 8192);
            heap.writeBytes(b);
            ByteBuffer nio = ByteBuffer.allocate(8192);
            heap.getBytes(0, nio);
            nio.flip();
            ByteBuf c = allocator.directBuffer(8192).writeBytes(nio);
            try {
                assertTrue(io.netty.buffer.ByteBufUtil.equals(a, c));
                assertEquals(a.nioBuffer().get(4097), c.internalNioBuffer(0, 8192).get(4097));
            } finally {
                c.release();
            }
            assertFalse(heap.isDirect());
            assertEquals(1, allocator.metric().heapAllocations());
        } finally {
            a.release();
            b.release();
            heap.release();
        }
    }

    @Test
    void requestsAboveMaxRunPagesAreHugeUnpooledBuffersAndCounted() {
        ByteBuf huge = allocator.directBuffer(1 << 20);
        try {
            assertEquals(1 << 20, huge.capacity());
            assertEquals(1, allocator.metric().hugeAllocations());
            assertEquals(1 << 20, allocator.metric().unpooledBytes());
            huge.setLong((1 << 20) - 8, 42);
            assertEquals(42, huge.getLong((1 << 20) - 8));
        } finally {
            huge.release();
        }
        assertEquals(0, allocator.metric().unpooledBytes());
        assertEquals(0, allocator.metric().inFlightRuns());
    }

    @Test
    void compositeBuffersAreBuiltFromThisAllocator() {
        CompositeByteBuf composite = allocator.compositeDirectBuffer();
        try {
            composite.addComponent(true, allocator.directBuffer(16).writeLong(1));
            composite.addComponent(true, allocator.directBuffer(16).writeLong(2));
            assertSame(allocator, composite.alloc());
            assertEquals(2, composite.getLong(8));
        } finally {
            composite.release();
        }
        assertEquals(0, allocator.metric().inFlightRuns());
    }

    @Test
    void misuseIsRejectedWithTheOffendingValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> allocator.allocateRuns(0, new ByteBuf[1], 0, 1));
        assertTrue(e.getMessage().contains("runPages: 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PageRunAllocator.builder().slabBytes(5000));
        assertThrows(IllegalArgumentException.class,
                () -> PageRunAllocator.builder().slabBytes(65536).maxRunPages(32).build());
    }

    @Test
    void allocatingAfterCloseFailsButReleasingStillWorks() {
        ByteBuf buf = allocator.directBuffer(16384);
        allocator.close();
        assertThrows(IllegalStateException.class, () -> allocator.directBuffer(10));
        assertTrue(buf.release());
        assertEquals(0, buf.refCnt());
        assertNotSame(null, allocator.metric());
    }
}
