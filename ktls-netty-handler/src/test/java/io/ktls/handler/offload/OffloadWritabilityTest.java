package io.ktls.handler.offload;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.handler.stream.ChunkedWriteHandler;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A reader that stalls makes the channel unwritable, so {@link ChunkedWriteHandler} stops reading the file and
 * the server's memory for the connection stays within the record cap; when the reader resumes, the channel
 * turns writable again and the whole file arrives intact.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OffloadWritabilityTest {

    private static final int FILE_BYTES = 16 * 1024 * 1024;
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final int SOCKET_BUFFER_BYTES = 32 * 1024;
    private static final int MAX_RECORDS_IN_FLIGHT = 32;
    /**
     * What one connection may hold: the sealed records in flight, plus as much unframed plaintext (both capped at
     * 32 x 16 KiB by the handler), plus a chunk and small read buffers; a twelfth of the file.
     */
    private static final long MEMORY_BOUND_BYTES = 2L * MAX_RECORDS_IN_FLIGHT * 16 * 1024 + 256 * 1024;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "offload: {0}")
    @ValueSource(booleans = {true, false})
    void stalledReaderFlipsWritabilityAndBoundsMemory(boolean offload) throws Exception {
        Path file = TestFiles.random(dir.resolve("large.bin"), FILE_BYTES, 11);
        String expectedSha = TestFiles.sha256(file);
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
        ByteBufAllocatorMetric memory = alloc.metric();
        KtlsOffloadGroup group = new KtlsOffloadGroup(1);
        KtlsConfig.Builder config = KtlsConfig.builder().maxRecordsInFlight(MAX_RECORDS_IN_FLIGHT);
        if (offload) {
            config.offloadGroup(group);
        }
        DownloadServer server = new DownloadServer(config.build(), alloc, request -> {
            try {
                return new ChunkedNioFile(file.toFile(), CHUNK_BYTES);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, bootstrap -> bootstrap.childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES),
                () -> new ChannelHandler[] {new ChunkedWriteHandler()});
        DownloadClient client = new DownloadClient(1, SOCKET_BUFFER_BYTES);
        try {
            CompletableFuture<Void> resume = new CompletableFuture<>();
            DownloadClient.Download download = client.download(server.address(), (byte) 'G', Long.MAX_VALUE, 1,
                    resume);
            download.paused.get(10, TimeUnit.SECONDS);

            assertTrue(LeakBaseline.eventually(() -> server.writability.contains(false)), "the channel never turned unwritable");
            AtomicLong maxMemoryBytes = new AtomicLong();
            long stallEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (System.nanoTime() < stallEnd) {
                maxMemoryBytes.accumulateAndGet(memory.usedDirectMemory() + memory.usedHeapMemory(), Math::max);
                Thread.sleep(1);
            }
            assertTrue(maxMemoryBytes.get() <= MEMORY_BOUND_BYTES,
                    "memory held for one stalled reader: " + maxMemoryBytes.get() + " bytes (bound: "
                            + MEMORY_BOUND_BYTES + ')');
            assertTrue(maxMemoryBytes.get() > 0);
            ChannelFuture write = server.writes.get(0);
            assertFalse(write.isDone(), "the whole file went out to a stalled reader");
            assertFalse(server.writability.get(server.writability.size() - 1), "writable again while stalled");

            resume.complete(null);
            DownloadClient.Result result = download.result.get(30, TimeUnit.SECONDS);
            assertNull(result.failure, String.valueOf(result));
            assertEquals(FILE_BYTES, result.bytes);
            assertEquals(expectedSha, result.sha256);
            assertTrue(write.await(5, TimeUnit.SECONDS) && write.isSuccess(), String.valueOf(write.cause()));
            int firstUnwritable = server.writability.indexOf(false);
            assertTrue(server.writability.subList(firstUnwritable, server.writability.size()).contains(true),
                    "never writable again: " + server.writability);
        } finally {
            client.close();
            server.close();
            group.close();
        }
    }
}
