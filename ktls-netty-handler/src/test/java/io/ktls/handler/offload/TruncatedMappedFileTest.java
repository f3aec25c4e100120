package io.ktls.handler.offload;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.EOFException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file truncated while the server sends it from a shared mapping: the reads of the lost pages fail (SIGBUS,
 * which the JVM turns into an {@code InternalError}), and that must end one connection cleanly, not the JVM.
 * Which check sees the truncation first depends on timing: the fault itself, the size check after a mapped
 * record, or a positional read meeting the end of the file ({@link EOFException} for the last two).
 * A 16 MiB {@link DefaultFileRegion} goes to a client that stops reading after about 1 MiB, so the server waits
 * for writability with most of the file still unread; the file is then cut to 64 KiB and the client resumes.
 * The server's write fails or its channel closes, the client gets less than the file and sees the connection
 * end, and every buffer, run, record and the region itself come back.
 */
@Tag("stress")
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TruncatedMappedFileTest {

    private static final int FILE_BYTES = 16 * 1024 * 1024;
    /** The smallest file that is mapped: what is left must not simply fall back to {@code pread}. */
    private static final long TRUNCATED_BYTES = 64 * 1024;
    private static final long PAUSE_AFTER_BYTES = 1024 * 1024;
    /** Small socket buffers keep the bytes queued between the two ends far below the file's size. */
    private static final int SOCKET_BUFFER_BYTES = 32 * 1024;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "offload: {0}")
    @ValueSource(booleans = {false, true})
    void truncatingAMappedFileMidDownloadFailsOnlyThatConnection(boolean offload) throws Exception {
        Path file = TestFiles.random(dir.resolve("truncated.bin"), FILE_BYTES, 23);
        List<FileRegion> regions = new CopyOnWriteArrayList<>();
        LeakBaseline baseline = LeakBaseline.take();

        PageRunAllocator alloc = PageRunAllocator.builder().name("truncated-mapped-file").build();
        KtlsOffloadGroup group = new KtlsOffloadGroup(1);
        KtlsConfig.Builder config = KtlsConfig.builder();
        if (offload) {
            config.offloadGroup(group);
        }
        DownloadServer server = new DownloadServer(config.build(), alloc, request -> {
            FileRegion region = new DefaultFileRegion(file.toFile(), 0, FILE_BYTES);
            regions.add(region);
            return region;
        }, bootstrap -> bootstrap.childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES));
        DownloadClient client = new DownloadClient(1, SOCKET_BUFFER_BYTES);
        try {
            CompletableFuture<Void> resume = new CompletableFuture<>();
            DownloadClient.Download download = client.download(server.address(), (byte) 'G', Long.MAX_VALUE,
                    PAUSE_AFTER_BYTES, resume);
            long pausedAtBytes = download.paused.get(10, TimeUnit.SECONDS);
            assertTrue(LeakBaseline.eventually(() -> server.writability.contains(false)), "the server never had to wait");
            assertEquals(1, server.writes.size());
            ChannelFuture write = server.writes.get(0);
            assertFalse(write.isDone(), "the whole file went out before the truncation: " + write.cause());

            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.truncate(TRUNCATED_BYTES);
            }
            resume.complete(null);

            assertTrue(write.await(10, TimeUnit.SECONDS), "the server's write never completed");
            DownloadClient.Result result = download.result.get(10, TimeUnit.SECONDS);
            assertTrue(result.bytes >= pausedAtBytes && result.bytes < FILE_BYTES,
                    "the client got the whole file from a truncated one: " + result);
            assertTrue(server.awaitClosedChildren(1, 10_000), "the server's channel is still open");
            assertFalse(write.isSuccess(), "the write of a truncated file succeeded");
            assertTrue(CauseChain.has(write.cause(), InternalError.class) || CauseChain.has(write.cause(), EOFException.class),
                    "the write failed for another reason than the lost file bytes: " + write.cause());
            // The write's promise fails (and its CLOSE listener runs) before the layer fires exceptionCaught.
            assertTrue(LeakBaseline.eventually(() -> !server.exceptions.isEmpty()),
                    "the server's pipeline never heard of the failure");
            // While the server still runs, every record handed to a sealer comes back and is accounted for.
            baseline.awaitRecordsReturned();
        } finally {
            client.close();
            server.close();
            group.close();
        }

        assertEquals(1, regions.size());
        assertEquals(0, regions.get(0).refCnt(), "file region not released");
        assertEquals(0, group.metric().failedTasks());
        LeakBaseline.awaitAllocatorDrained(alloc.metric());
        baseline.assertRecordsReturned();
        alloc.close();
    }
}
