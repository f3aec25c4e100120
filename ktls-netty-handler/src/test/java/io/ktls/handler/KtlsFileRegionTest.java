package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KtlsFileRegionTest {

    private static final int FILE_BYTES = 200 * 1024 + 7;
    @RegisterExtension
    static final SharedOffloadGroup OFFLOAD_GROUP = new SharedOffloadGroup(1);

    @TempDir
    Path dir;

    @AfterEach
    void unmapAll() {
        MappedFiles.SHARED.clear();
    }

    @Test
    void openCarriesTheAttributesItWasOpenedWith() throws IOException {
        Path file = write("a.bin", FILE_BYTES, 1);
        BasicFileAttributes attributes = attributes(file);
        KtlsFileRegion region = KtlsFileRegion.open(file, attributes, 100, FILE_BYTES - 100);
        try {
            assertEquals(FILE_BYTES, region.fileSize());
            assertEquals(attributes.lastModifiedTime().toMillis(), region.lastModifiedMillis());
            assertEquals(100, region.position());
            assertEquals(FILE_BYTES - 100, region.count());
            assertTrue(region.channel().isOpen());
        } finally {
            region.release();
        }
        assertFalse(region.channel().isOpen(), "the last release closes the file");
    }

    @Test
    void openRefusesAFileRenamedOverSinceItsAttributesWereRead() throws IOException {
        Path file = write("a.bin", FILE_BYTES, 1);
        BasicFileAttributes before = attributes(file);
        Path replacement = write("b.bin", FILE_BYTES, 2);
        Files.setLastModifiedTime(replacement, before.lastModifiedTime());
        Files.move(replacement, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertThrows(KtlsFileRegion.FileChangedException.class,
                     () -> KtlsFileRegion.open(file, before, 0, FILE_BYTES),
                     "same size and time, another file: the headers built from 'before' would not match");
    }

    @Test
    void openRefusesAFileTouchedOrResizedSinceItsAttributesWereRead() throws IOException {
        Path file = write("a.bin", FILE_BYTES, 1);
        BasicFileAttributes before = attributes(file);
        Files.setLastModifiedTime(file, FileTime.fromMillis(before.lastModifiedTime().toMillis() - 60_000));
        assertThrows(KtlsFileRegion.FileChangedException.class, () -> KtlsFileRegion.open(file, before, 0, 1));

        BasicFileAttributes touched = attributes(file);
        Files.write(file, new byte[1], java.nio.file.StandardOpenOption.APPEND);
        Files.setLastModifiedTime(file, touched.lastModifiedTime());
        assertThrows(KtlsFileRegion.FileChangedException.class, () -> KtlsFileRegion.open(file, touched, 0, 1));
    }

    @Test
    void openRefusesARegionBeyondTheFile() throws IOException {
        Path file = write("a.bin", 1000, 1);
        BasicFileAttributes attributes = attributes(file);
        assertThrows(IllegalArgumentException.class, () -> KtlsFileRegion.open(file, attributes, 1, 1000));
        assertThrows(IllegalArgumentException.class,
                     () -> KtlsFileRegion.open(file, attributes, Long.MAX_VALUE, 2));
        assertThrows(IllegalArgumentException.class, () -> KtlsFileRegion.open(file, attributes, -1, 1));
    }

    @Test
    void openRefusesANamedPipeWithoutOpeningIt() throws Exception {
        Path pipe = dir.resolve("pipe");
        Process mkfifo = new ProcessBuilder("mkfifo", pipe.toString()).inheritIO().start();
        assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo");
        BasicFileAttributes attributes = attributes(pipe);
        // Opening a FIFO for reading waits for a writer: a refusal after the open would never come.
        java.nio.file.FileSystemException refused = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(java.nio.file.FileSystemException.class,
                        () -> KtlsFileRegion.open(pipe, attributes, 0, 0)));
        assertTrue(refused.getMessage().contains("not a regular file"), refused.getMessage());
    }

    @Test
    void regionsOfOneFileShareOneMapping() throws IOException {
        Path file = write("a.bin", FILE_BYTES, 3);
        MappedFiles files = new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS);
        KtlsFileRegion first = KtlsFileRegion.open(file, attributes(file), 0, FILE_BYTES);
        KtlsFileRegion second = KtlsFileRegion.open(file, attributes(file), 10, 20);
        MappedFiles.Mapping a = files.acquire((io.netty.channel.FileRegion) first);
        MappedFiles.Mapping b = files.acquire((io.netty.channel.FileRegion) second);
        try {
            assertNotNull(a, "a region opened with its identity is mapped, though made from a channel");
            assertSame(a, b);
            assertEquals(FILE_BYTES, files.mappedBytes());
        } finally {
            a.release();
            b.release();
            first.release();
            second.release();
            files.clear();
        }
        assertEquals(0, files.mappedBytes());
    }

    @Test
    void aRegionIsMappedFromTheFileItOpenedThoughThePathNowNamesAnother() throws IOException {
        Path file = write("a.bin", FILE_BYTES, 4);
        byte[] original = Files.readAllBytes(file);
        KtlsFileRegion region = KtlsFileRegion.open(file, attributes(file), 0, FILE_BYTES);
        Files.move(write("b.bin", FILE_BYTES, 5), file, StandardCopyOption.REPLACE_EXISTING,
                   StandardCopyOption.ATOMIC_MOVE);
        MappedFiles files = new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS);
        MappedFiles.Mapping mapping = files.acquire(region);
        try {
            assertNotNull(mapping);
            assertArrayEquals(original, bytes(mapping.slice(0, FILE_BYTES)));
        } finally {
            mapping.release();
            region.release();
            files.clear();
        }
    }

    @Test
    void smallFilesAreNotMapped() throws IOException {
        Path file = write("small.bin", (int) MappedFiles.MIN_FILE_BYTES - 1, 6);
        KtlsFileRegion region = KtlsFileRegion.open(file, attributes(file), 0, 10);
        try {
            assertNull(new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS).acquire(region));
        } finally {
            region.release();
        }
    }

    @Test
    void slicesKeepTheFileOpenUntilTheParentAndEverySliceAreReleased() throws IOException {
        Path file = write("a.bin", FILE_BYTES, 8);
        KtlsFileRegion whole = KtlsFileRegion.open(file, attributes(file), 0, FILE_BYTES);
        KtlsFileRegion first = whole.retainedSlice(10, 100);
        KtlsFileRegion second = whole.retainedSlice(0, FILE_BYTES);
        assertEquals(3, whole.refCnt());
        assertEquals(10, first.position());
        assertEquals(100, first.count());
        assertEquals(whole.fileKey(), first.fileKey());
        assertSame(whole.channel(), first.channel());

        whole.release();
        first.release();
        assertTrue(whole.channel().isOpen(), "a slice still refers to the file");
        second.release();
        assertEquals(0, whole.refCnt());
        assertFalse(whole.channel().isOpen(), "the last release closes the file");
    }

    @Test
    void sliceMustLieWithinItsRegion() throws IOException {
        Path file = write("a.bin", 1000, 9);
        KtlsFileRegion region = KtlsFileRegion.open(file, attributes(file), 100, 800);
        try {
            assertThrows(IllegalArgumentException.class, () -> region.retainedSlice(99, 1));
            assertThrows(IllegalArgumentException.class, () -> region.retainedSlice(100, 801));
            assertThrows(IllegalArgumentException.class, () -> region.retainedSlice(Long.MAX_VALUE, 2));
            assertThrows(IllegalArgumentException.class, () -> region.retainedSlice(-1, 1));
            assertEquals(1, region.refCnt(), "a refused slice takes no reference");
            region.retainedSlice(900, 0).release();
        } finally {
            region.release();
        }
        assertThrows(io.netty.util.IllegalReferenceCountException.class, () -> region.retainedSlice(100, 1));
    }

    @ParameterizedTest(name = "offload={0}, small={1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void handlerSendsSlicesOfOneOpenFileOnTwoConnections(boolean offload, boolean small) throws Exception {
        int length = small ? 16 * 1024 + 5 : FILE_BYTES; // below or above the mapping threshold
        Path file = write("a.bin", length, 10);
        byte[] content = Files.readAllBytes(file);
        KtlsFileRegion whole = KtlsFileRegion.open(file, attributes(file), 0, length);
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().offloadGroup(offload ? OFFLOAD_GROUP.get() : null).build();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, config),
                    new OnHandshakeSuccess(ctx -> ctx.writeAndFlush(whole.retainedSlice(7, length - 7)))));
            for (int i = 0; i < 2; i++) {
                ByteCollector collector = new ByteCollector(length - 7);
                Channel client = loopback.connectTls(clientContext, collector);
                assertArrayEquals(Arrays.copyOfRange(content, 7, length),
                        collector.received().get(30, TimeUnit.SECONDS));
                client.close().sync();
            }
        }
        assertTrue(whole.channel().isOpen(), "the kept region still holds the file");
        whole.release();
        assertEquals(0, whole.refCnt(), "every slice was released by the handler");
        assertFalse(whole.channel().isOpen());
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void handlerSendsARegionFromTheSharedMapping(boolean offload) throws Exception {
        Path file = write("a.bin", FILE_BYTES, 7);
        byte[] content = Files.readAllBytes(file);
        byte[] expected = Arrays.copyOfRange(content, 3, FILE_BYTES);
        MappedFiles.SHARED.clear();
        assertEquals(0, MappedFiles.SHARED.mappedBytes());

        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().offloadGroup(offload ? OFFLOAD_GROUP.get() : null).build();
        CompletableFuture<ChannelFuture> sent = new CompletableFuture<>();
        ByteCollector collector = new ByteCollector(expected.length);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, config),
                    new OnHandshakeSuccess(ctx -> {
                        try {
                            sent.complete(ctx.writeAndFlush(
                                    KtlsFileRegion.open(file, attributes(file), 3, FILE_BYTES - 3)));
                        } catch (IOException e) {
                            sent.completeExceptionally(e);
                        }
                    })));
            Channel client = loopback.connectTls(clientContext, collector);
            assertArrayEquals(expected, collector.received().get(30, TimeUnit.SECONDS));
            ChannelFuture write = sent.get(5, TimeUnit.SECONDS);
            assertTrue(write.await(5, TimeUnit.SECONDS) && write.isSuccess(), "write: " + write.cause());
            client.close().sync();
        }
        assertEquals(FILE_BYTES, MappedFiles.SHARED.mappedBytes(),
                     "the file stays mapped for the next connection that sends it");
    }

    private Path write(String name, int length, long seed) throws IOException {
        byte[] content = new byte[length];
        new Random(seed).nextBytes(content);
        return Files.write(dir.resolve(name), content);
    }

    private static BasicFileAttributes attributes(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }
}
