package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Buffers the record layer writes through one NIO view: a record sealed into its output, a record opened in place
 * over the bytes it arrived in, a file chunk read with {@code pread}. Such memory must be one region. The view of a
 * buffer made of several ({@code nioBufferCount() > 1}: a {@code CompositeByteBuf}, which a
 * {@link PageRunAllocator} built with {@code compositeFallback} hands out for a multi-page {@code directBuffer}
 * when no run of pages is free) is a copy: bytes written there never reach the buffer, and a record sealed into
 * it would leave carrying whatever the pages held before, which its peer rejects as {@code bad_record_mac}.
 * <ul>
 *   <li>{@link #ioBuffer} asks for I/O memory, which allocators keep contiguous (epoll reads into one address;
 *       {@code PageRunAllocator} never falls back to a composite there);</li>
 *   <li>{@link #require} checks any buffer about to be written through its view. An allocator that still gives
 *       several regions fails the operation with a clear error: never a silent copy, never corrupt bytes on the
 *       wire.</li>
 * </ul>
 *
 * <p>Threads: stateless, safe from any thread.
 */
final class ContiguousMemory {

    private ContiguousMemory() {
    }

    /** {@code capacity} bytes of {@code alloc}'s I/O memory, in one region. */
    static ByteBuf ioBuffer(ByteBufAllocator alloc, int capacity) {
        return require(alloc.ioBuffer(capacity), alloc);
    }

    /**
     * {@code buf} itself when its memory is one region; otherwise releases it and throws
     * {@link IllegalStateException} naming {@code alloc}, which made it.
     */
    static ByteBuf require(ByteBuf buf, ByteBufAllocator alloc) {
        int regions = buf.nioBufferCount();
        if (regions == 1) {
            return buf;
        }
        buf.release();
        throw new IllegalStateException(alloc + " gave a buffer of " + regions + " memory regions (a "
                + "composite); the record layer writes through one NIO view and needs contiguous memory");
    }
}
