package io.ktls.handler;

import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static io.ktls.handler.InPlaceSealingOwnershipTest.LENGTH;
import static io.ktls.handler.InPlaceSealingOwnershipTest.bytes;
import static io.ktls.handler.InPlaceSealingOwnershipTest.content;
import static io.ktls.handler.InPlaceSealingOwnershipTest.sendTwice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@code Unpooled.wrappedBuffer(address, size, false)}: memory behind a raw address that the caller keeps. Netty
 * can wrap a raw address only through {@code DirectByteBuffer(long, int)}, which it reaches with
 * {@code -Dio.netty.tryReflectionSetAccessible=true} and {@code java.nio} opened to it, as many production JVMs
 * run. This class runs in its own surefire execution with those flags ({@code raw-address-memory} in the
 * module's pom), which sets {@code ktls.test.rawAddress=required} so that the case cannot silently skip there.
 * On a JDK where Netty cannot wrap a raw address at all, the test proves that no such buffer can be made.
 */
class RawAddressSealingTest {

    @Test
    void wrappedMemoryAddressIsNotOverwritten() throws Exception {
        byte[] content = content(2);
        ByteBuffer memory = ByteBuffer.allocateDirect(LENGTH);
        memory.put(content).flip();
        long address = PlatformDependent.directBufferAddress(memory);
        if (!PlatformDependent.hasDirectBufferNoCleanerConstructor()) {
            // JDK 17 to 23 with the fork's flags let Netty wrap raw addresses; a later JDK where Netty leaves
            // sun.misc.Unsafe alone does not, and then nobody can hand us such a buffer: prove that instead.
            assertFalse("required".equals(System.getProperty("ktls.test.rawAddress"))
                    && Runtime.version().feature() < 24,
                    "the raw-address-memory execution must let Netty wrap raw addresses on this JDK");
            assertThrows(Throwable.class, () -> Unpooled.wrappedBuffer(address, LENGTH, false).release(),
                    "a raw address was wrapped although Netty reports it cannot");
            return;
        }
        sendTwice(() -> Unpooled.wrappedBuffer(address, LENGTH, false), content);
        assertArrayEquals(content, bytes(memory), "memory behind a raw address was encrypted where it lies");
    }
}
