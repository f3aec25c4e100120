package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sealing in place writes ciphertext into the caller's buffer, so it is allowed only where that memory belongs to
 * the buffer alone. Each foreign-memory case is sent twice, as a server answers two requests from one cached
 * object: the source must stay as it was and the peer must receive the right bytes both times.
 */
class InPlaceSealingOwnershipTest {

    /** Two full records and a tail: the first records of each write are single slices, the in-place candidates. */
    static final int LENGTH = 2 * 16384 + 7000;

    @TempDir
    Path dir;

    @Test
    void wrappedCachedByteBufferIsNotOverwritten() throws Exception {
        byte[] content = content(1);
        ByteBuffer cached = ByteBuffer.allocateDirect(LENGTH);
        cached.put(content).flip();
        sendTwice(() -> Unpooled.wrappedBuffer(cached.duplicate()), content);
        assertArrayEquals(content, bytes(cached), "the cached response was encrypted where it lies");
    }

    @Test
    void singleComponentCompositeOverADuplicateIsNotOverwritten() throws Exception {
        byte[] content = content(3);
        ByteBuf source = Unpooled.directBuffer(LENGTH).writeBytes(content);
        try {
            sendTwice(() -> Unpooled.compositeBuffer(1).addComponent(true, source.retainedDuplicate()), content);
            byte[] after = new byte[LENGTH];
            source.getBytes(0, after);
            assertArrayEquals(content, after, "the composite's component was encrypted where it lies");
        } finally {
            source.release();
        }
    }

    @Test
    void readWriteMappedFileIsNotOverwritten() throws Exception {
        byte[] content = content(4);
        Path file = dir.resolve("cached.bin");
        Files.write(file, content);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, LENGTH);
            sendTwice(() -> Unpooled.wrappedBuffer(mapped.duplicate()), content);
            mapped.force();
            assertArrayEquals(content, bytes(mapped), "the mapping was encrypted where it lies");
        }
        assertArrayEquals(content, Files.readAllBytes(file), "the file on disk was overwritten");
    }

    @Test
    void allocatorMadeDirectBuffersAreSealedInPlace() {
        PageRunAllocator pageRuns = PageRunAllocator.builder().name("in-place-test").build();
        try {
            ByteBufAllocator[] allocators = {
                PooledByteBufAllocator.DEFAULT, new PooledByteBufAllocator(false), UnpooledByteBufAllocator.DEFAULT,
                new UnpooledByteBufAllocator(true, true), new AdaptiveByteBufAllocator(), pageRuns};
            int leakTracked = 0;
            for (ByteBufAllocator alloc : allocators) {
                ByteBuf buf = alloc.directBuffer(LENGTH);
                leakTracked += buf.unwrap() != null ? 1 : 0;
                try {
                    assertTrue(PendingWrite.isOwnedOutright(buf), alloc + " made " + buf.getClass().getName()
                            + " (unwrapped: " + (buf.unwrap() == null ? "-" : buf.unwrap().getClass().getName()) + ')');
                    ByteBuf slice = buf.retainedSlice(0, 100);
                    assertFalse(PendingWrite.isOwnedOutright(slice), "a slice of " + alloc);
                    slice.release();
                    buf.retain();
                    assertFalse(PendingWrite.isOwnedOutright(buf), "a buffer of " + alloc + " held twice");
                    buf.release();
                } finally {
                    buf.release();
                }
                ByteBuf heap = alloc.heapBuffer(64);
                assertFalse(PendingWrite.isOwnedOutright(heap), "heap buffer of " + alloc + " (the socket wants direct)");
                heap.release();
            }
            if (ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.PARANOID) {
                assertTrue(leakTracked > 0, "no buffer came wrapped by the leak detector: its wrappers went untested");
            }
        } finally {
            pageRuns.close();
        }
    }

    /**
     * The server answers twice from {@code source} (a fresh wrapper each time, as a framework serving a cached
     * object does), the second answer after the first was written; returns once the OpenSSL client got both.
     */
    static void sendTwice(Supplier<ByteBuf> source, byte[] content) throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        int expected = 2 * LENGTH;
        CompletableFuture<ChannelFuture> sent = new CompletableFuture<>();
        ByteCollector collector = new ByteCollector(expected);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, KtlsConfig.builder().build()),
                    new OnHandshakeSuccess(ctx -> ctx.writeAndFlush(source.get()).addListener(first ->
                            sent.complete(ctx.writeAndFlush(source.get()))))));
            Channel client = loopback.connectTls(clientContext, collector);
            byte[] bytes = collector.received().get(30, TimeUnit.SECONDS);
            ChannelFuture second = sent.get(5, TimeUnit.SECONDS);
            assertTrue(second.await(5, TimeUnit.SECONDS) && second.isSuccess(), "second write: " + second.cause());
            byte[] first = new byte[LENGTH];
            byte[] again = new byte[LENGTH];
            System.arraycopy(bytes, 0, first, 0, LENGTH);
            System.arraycopy(bytes, LENGTH, again, 0, LENGTH);
            assertArrayEquals(content, first, "first answer");
            assertArrayEquals(content, again, "second answer from the same source");
            client.close().sync();
        }
    }

    static byte[] content(long seed) {
        byte[] content = new byte[LENGTH];
        new Random(seed).nextBytes(content);
        return content;
    }

    static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
