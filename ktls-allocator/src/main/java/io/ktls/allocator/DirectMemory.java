package io.ktls.allocator;

import io.netty.util.internal.PlatformDependent;

import java.nio.ByteBuffer;

/**
 * Direct memory from the JVM with a cleaner, freed early when the platform allows it. Memory with a cleaner is
 * never leaked: a slab still referenced by a buffer when the allocator closes is freed by the garbage collector.
 * Freeing early needs Netty's cleaner access, which newer JDKs (25) only grant for memory Netty allocated itself;
 * there, released memory is left to the garbage collector.
 */
final class DirectMemory {
    static final boolean EXPLICIT_FREE = probeExplicitFree();

    private DirectMemory() {
    }

    @SuppressWarnings("deprecation") // the replacement only frees memory Netty allocated itself
    private static boolean probeExplicitFree() {
        try {
            PlatformDependent.freeDirectBuffer(ByteBuffer.allocateDirect(1));
            return true;
        } catch (Throwable t) {
            return false;
        }
    }

    static ByteBuffer allocate(int bytes) {
        return ByteBuffer.allocateDirect(bytes);
    }

    static long address(ByteBuffer memory) {
        return PlatformDependent.hasUnsafe() ? PlatformDependent.directBufferAddress(memory) : 0;
    }

    /** Frees {@code memory} now if possible; the caller must hold no other reference that will be used. */
    @SuppressWarnings("deprecation") // see probeExplicitFree()
    static void free(ByteBuffer memory) {
        if (EXPLICIT_FREE) {
            PlatformDependent.freeDirectBuffer(memory);
        }
    }
}
