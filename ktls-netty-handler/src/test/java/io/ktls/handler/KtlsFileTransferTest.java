package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.stream.ChunkedFile;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.handler.stream.ChunkedWriteHandler;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * File and chunked-input writes end to end, inline and offloaded: a {@link DefaultFileRegion} (read with
 * positional reads: the file's own position never moves), a {@code FileRegion} of another kind, a
 * {@code ChunkedInput} written straight to {@link KtlsHandler}, and {@code ChunkedWriteHandler} in front of it.
 */
class KtlsFileTransferTest {

    private static final int FILE_BYTES = 1024 * 1024 + 7;
    @RegisterExtension
    static final SharedOffloadGroup OFFLOAD_GROUP = new SharedOffloadGroup(2);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void defaultFileRegionArrivesIntactAndFilePositionStays(boolean offload) throws Exception {
        byte[] content = content();
        Path file = write(content);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            DefaultFileRegion region = new DefaultFileRegion(channel, 3, FILE_BYTES - 3);
            region.retain(); // keep the channel open (the region closes it when released) to look at it after
            byte[] received = transfer(offload, false, (ctx, promise) -> ctx.writeAndFlush(region), FILE_BYTES - 3);
            assertArrayEquals(slice(content, 3, FILE_BYTES - 3), received);
            assertEquals(0, channel.position(), "positional reads only");
            assertEquals(1, region.refCnt(), "the handler released the reference it was given");
            region.release();
        }
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void defaultFileRegionOpenedFromAFileArrivesIntact(boolean offload) throws Exception {
        byte[] content = content();
        Path file = write(content);
        byte[] received = transfer(offload, false, (ctx, promise) ->
                ctx.writeAndFlush(new DefaultFileRegion(file.toFile(), 0, FILE_BYTES)), FILE_BYTES);
        assertArrayEquals(content, received);
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void fileRegionOfAnotherKindArrivesIntact(boolean offload) throws Exception {
        byte[] content = content();
        ByteArrayRegion region = new ByteArrayRegion(content);
        byte[] received = transfer(offload, false, (ctx, promise) -> ctx.writeAndFlush(region), FILE_BYTES);
        assertArrayEquals(content, received);
        assertEquals(0, region.refCnt(), "region released once written");
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void chunkedInputWrittenDirectlyArrivesIntact(boolean offload) throws Exception {
        byte[] content = content();
        Path file = write(content);
        byte[] received = transfer(offload, false, (ctx, promise) -> {
            try {
                return ctx.writeAndFlush(new ChunkedNioFile(file.toFile(), 8192));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, FILE_BYTES);
        assertArrayEquals(content, received);
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void chunkedWriteHandlerInFrontWorks(boolean offload) throws Exception {
        byte[] content = content();
        Path file = write(content);
        byte[] received = transfer(offload, true, (ctx, promise) -> {
            try {
                return ctx.writeAndFlush(new ChunkedFile(new RandomAccessFile(file.toFile(), "r"), 8192));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, FILE_BYTES);
        assertArrayEquals(content, received);
    }

    /** Server writes with {@code send} once the handshake is done; returns what the SslHandler client got. */
    private byte[] transfer(boolean offload, boolean chunkedWriteHandler,
                            BiFunction<ChannelHandlerContext, Object, ChannelFuture> send, int expected)
            throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().offloadGroup(offload ? OFFLOAD_GROUP.get() : null).build();
        CompletableFuture<ChannelFuture> sent = new CompletableFuture<>();
        ByteCollector collector = new ByteCollector(expected);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                ch.pipeline().addLast(new KtlsHandler(serverContext, config));
                if (chunkedWriteHandler) {
                    ch.pipeline().addLast(new ChunkedWriteHandler());
                }
                ch.pipeline().addLast(new OnHandshakeSuccess(ctx -> sent.complete(send.apply(ctx, null))));
            });
            Channel client = loopback.connectTls(clientContext, collector);
            byte[] bytes = collector.received().get(30, TimeUnit.SECONDS);
            ChannelFuture write = sent.get(5, TimeUnit.SECONDS);
            assertTrue(write.await(5, TimeUnit.SECONDS) && write.isSuccess(), "write promise: " + write.cause());
            client.close().sync();
            return bytes;
        }
    }

    private static byte[] content() {
        byte[] content = new byte[FILE_BYTES];
        new Random(7).nextBytes(content);
        return content;
    }

    private Path write(byte[] content) throws Exception {
        Path file = Files.createTempFile(dir, "payload", ".bin");
        Files.write(file, content);
        return file;
    }

    private static byte[] slice(byte[] bytes, int offset, int length) {
        byte[] out = new byte[length];
        System.arraycopy(bytes, offset, out, 0, length);
        return out;
    }

    /** A FileRegion that is not a DefaultFileRegion: bytes from an array, transferred in order. */
    static final class ByteArrayRegion extends SyntheticFileRegion {
        private final byte[] bytes;

        ByteArrayRegion(byte[] bytes) {
            super(bytes.length);
            this.bytes = bytes;
        }

        @Override
        protected int write(WritableByteChannel target, long position) throws java.io.IOException {
            int length = (int) Math.min(7000, bytes.length - position);
            if (length <= 0) {
                return 0;
            }
            return target.write(ByteBuffer.wrap(bytes, (int) position, length));
        }
    }

    static List<Object> list(Object... items) {
        return new ArrayList<>(List.of(items));
    }
}
