package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides whether a buffer's memory provably belongs to that buffer alone, so that the record layer may write
 * into it: seal a record in place over the caller's plaintext, or open a record in place over the ciphertext
 * it arrived in. {@code SslHandler} never writes into its sources, and neither may we where we cannot prove the
 * memory is not read by someone else.
 *
 * <h2>Why the obvious tests are not enough</h2>
 * A reference count of 1, no {@code unwrap()}, writable and one NIO buffer also describe buffers over memory
 * somebody else keeps: {@code Unpooled.wrappedBuffer(byteBuffer)} over a cached response (frameworks wrap their
 * cached {@code ByteBuffer}s like this per request: the next request would send ciphertext),
 * {@code Unpooled.wrappedBuffer(address, size, false)}, a one-component {@code CompositeByteBuf} over a duplicate,
 * a wrapped {@code READ_WRITE} {@code MappedByteBuffer} (encrypting it overwrites the file). A class test alone
 * does not tell them apart either: {@code Unpooled.wrappedBuffer(ByteBuffer)} makes an
 * {@code UnpooledUnsafeDirectByteBuf}, the same class an allocator makes over fresh memory.
 *
 * <h2>The rule: allocator provenance</h2>
 * A buffer is exclusive when, below Netty's leak-tracking wrappers (recognised by exact class), it is
 * <ol>
 *   <li>of a concrete class that only an allocator instantiates, and only over memory it reserved for that
 *       buffer, and</li>
 *   <li>its {@code alloc()} is that kind of allocator, and</li>
 *   <li>not a view: {@code unwrap()} is {@code null}, and nobody else holds a counted reference
 *       ({@code refCnt() == 1}), and it is writable.</li>
 * </ol>
 * The classes (Netty 4.2.18 and our allocator):
 * <ul>
 *   <li>{@link PageRunAllocator}: {@code io.ktls.allocator.PageRunBuf}, ours first;</li>
 *   <li>{@link PooledByteBufAllocator}: {@code PooledUnsafeDirectByteBuf}, {@code PooledDirectByteBuf},
 *       {@code PooledUnsafeHeapByteBuf}, {@code PooledHeapByteBuf} (made from the arenas' recyclers only);</li>
 *   <li>{@link UnpooledByteBufAllocator}: its private {@code Instrumented*} subclasses (the plain
 *       {@code Unpooled*ByteBuf} classes are what {@code Unpooled.wrappedBuffer} makes, so they do not count);</li>
 *   <li>{@link AdaptiveByteBufAllocator}: {@code AdaptivePoolingAllocator$AdaptiveByteBuf}, a segment of a chunk
 *       that the allocator hands to one buffer at a time.</li>
 * </ul>
 * Anything else, including a buffer of an allocator we do not know, is not exclusive: that costs one copy, never
 * correctness. Class names are looked up once; a class a future Netty renames only loses the in-place path.
 *
 * <p>Threads: stateless apart from a cache of class lookups, safe from any thread.
 */
final class ExclusiveMemory {

    /** Classes each allocator kind makes over memory it reserved for the buffer alone. */
    private static final Map<Class<?>, Class<?>> ALLOCATOR_OF = new ConcurrentHashMap<>();
    /** Netty's leak-tracking wrappers of plain buffers: {@code unwrap()} is the tracked buffer. */
    private static final Class<?>[] LEAK_TRACKING = {
        load("io.netty.buffer.SimpleLeakAwareByteBuf"), load("io.netty.buffer.AdvancedLeakAwareByteBuf")};

    static {
        made(PageRunAllocator.class, "io.ktls.allocator.PageRunBuf");
        made(PooledByteBufAllocator.class, "io.netty.buffer.PooledUnsafeDirectByteBuf",
                "io.netty.buffer.PooledDirectByteBuf", "io.netty.buffer.PooledUnsafeHeapByteBuf",
                "io.netty.buffer.PooledHeapByteBuf");
        made(UnpooledByteBufAllocator.class,
                "io.netty.buffer.UnpooledByteBufAllocator$InstrumentedUnpooledUnsafeNoCleanerDirectByteBuf",
                "io.netty.buffer.UnpooledByteBufAllocator$InstrumentedUnpooledUnsafeDirectByteBuf",
                "io.netty.buffer.UnpooledByteBufAllocator$InstrumentedUnpooledDirectByteBuf",
                "io.netty.buffer.UnpooledByteBufAllocator$InstrumentedUnpooledUnsafeHeapByteBuf",
                "io.netty.buffer.UnpooledByteBufAllocator$InstrumentedUnpooledHeapByteBuf");
        made(AdaptiveByteBufAllocator.class, "io.netty.buffer.AdaptivePoolingAllocator$AdaptiveByteBuf");
    }

    private ExclusiveMemory() {
    }

    /**
     * Whether {@code buf}'s memory belongs to it alone and nobody else holds a reference to it: what writing
     * into it in place requires. See the class comment for the rule.
     */
    static boolean isExclusive(ByteBuf buf) {
        if (buf.refCnt() != 1 || buf.isReadOnly() || buf.nioBufferCount() != 1) {
            return false;
        }
        ByteBuf b = belowLeakTracking(buf);
        if (b.unwrap() != null) {
            return false; // a slice, a duplicate, or a wrapper we do not know
        }
        Class<?> allocatorKind = ALLOCATOR_OF.get(b.getClass());
        if (allocatorKind == null) {
            return false;
        }
        ByteBufAllocator alloc = b.alloc();
        return alloc != null && allocatorKind.isInstance(alloc);
    }

    /** The buffer under Netty's leak-tracking wrappers (exact classes: a subclass could be anything). */
    private static ByteBuf belowLeakTracking(ByteBuf buf) {
        ByteBuf b = buf;
        while (isLeakTracking(b.getClass()) && b.unwrap() != null) {
            b = b.unwrap();
        }
        return b;
    }

    private static boolean isLeakTracking(Class<?> type) {
        for (Class<?> wrapper : LEAK_TRACKING) {
            if (wrapper == type) {
                return true;
            }
        }
        return false;
    }

    private static void made(Class<?> allocator, String... bufferClasses) {
        for (String name : bufferClasses) {
            Class<?> type = load(name);
            if (type != null) {
                ALLOCATOR_OF.put(type, allocator);
            }
        }
    }

    private static Class<?> load(String name) {
        try {
            return Class.forName(name, false, ExclusiveMemory.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }
}
