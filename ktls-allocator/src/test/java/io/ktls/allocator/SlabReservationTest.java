package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A thread reserving a slab while the JVM looks for direct memory holds no lock another thread needs. */
class SlabReservationTest {

    @Test
    @Timeout(30)
    void aThreadWaitingForSlabMemoryDoesNotBlockOthersOfItsArena() throws Exception {
        CountDownLatch inJvm = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        AtomicInteger slabs = new AtomicInteger();
        PageRunAllocator allocator = PageRunAllocator.builder().arenas(1).slabBytes(16 * 4096).maxRunPages(16)
                .maxMemoryBytes(2 * 16 * 4096).maxCachedBytesPerThread(0).reclaimThreads(false).slabMemory(bytes -> {
                    if (slabs.incrementAndGet() == 2) { // the second slab: the JVM is "collecting garbage"
                        inJvm.countDown();
                        try {
                            proceed.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    return ByteBuffer.allocateDirect(bytes);
                }).build();
        ByteBuf held = allocator.directBuffer(4096); // first slab: 15 pages left, no run of 16
        AtomicReference<ByteBuf> large = new AtomicReference<>();
        Thread grower = new Thread(() -> large.set(allocator.directBuffer(16 * 4096)));
        try {
            grower.start();
            assertTrue(inJvm.await(10, TimeUnit.SECONDS));
            // Meanwhile another thread of the same arena allocates and frees from the first slab.
            CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
                ByteBuf record = allocator.directBuffer(16384);
                record.writeLong(7);
                record.release();
            });
            AtomicReference<Throwable> blocked = new AtomicReference<>();
            try {
                other.get(2, TimeUnit.SECONDS);
            } catch (Exception e) {
                blocked.set(e);
            }
            proceed.countDown();
            other.join();
            assertNull(blocked.get(), "the other thread waited for the slab reservation");
        } finally {
            proceed.countDown();
            grower.join();
            held.release();
            if (large.get() != null) {
                assertEquals(16 * 4096, large.get().capacity());
                large.get().release();
            }
            assertEquals(0, allocator.metric().inFlightRuns());
            assertEquals(2, allocator.metric().slabsReserved());
            allocator.close();
        }
    }
}
