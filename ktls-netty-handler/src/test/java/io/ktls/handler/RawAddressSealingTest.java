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
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code Unpooled.wrappedBuffer(address, size, false)}: memory behind a raw address that the caller keeps. Netty
 * can wrap a raw address only through {@code DirectByteBuffer(long, int)}, which it reaches with
 * {@code -Dio.netty.tryReflectionSetAccessible=true} and {@code java.nio} opened to it, as many production JVMs
 * run. This class runs in its own surefire execution with those flags ({@code raw-address-memory} in the
 * module's pom), which sets {@code ktls.test.rawAddress=required} so that the case cannot silently skip there.
 */
class RawAddressSealingTest {

    @Test
    void wrappedMemoryAddressIsNotOverwritten() throws Exception {
        boolean required = "required".equals(System.getProperty("ktls.test.rawAddress"));
        boolean wrappable = PlatformDependent.hasDirectBufferNoCleanerConstructor();
        if (required) {
            assertTrue(wrappable, "the raw-address-memory execution must let Netty wrap raw addresses");
        } else {
            assumeTrue(wrappable, "this JVM cannot wrap a raw address (run through the raw-address-memory execution)");
        }
        byte[] content = content(2);
        ByteBuffer memory = ByteBuffer.allocateDirect(LENGTH);
        memory.put(content).flip();
        long address = PlatformDependent.directBufferAddress(memory);
        sendTwice(() -> Unpooled.wrappedBuffer(address, LENGTH, false), content);
        assertArrayEquals(content, bytes(memory), "memory behind a raw address was encrypted where it lies");
    }
}
