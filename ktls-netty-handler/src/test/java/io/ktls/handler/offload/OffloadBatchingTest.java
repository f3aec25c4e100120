package io.ktls.handler.offload;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsStats;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.DefaultFileRegion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file download hands its records to the offload worker in batches, not one task per record: framing resumes
 * only once several in-flight slots are free, so each hand-off (and its wake-ups) carries several records. A
 * response smaller than {@link KtlsConfig#offloadMinBatchBytes()} is not worth a hand-off: the event loop seals it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OffloadBatchingTest {

    private static final int FILE_BYTES = 8 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void fileDownloadHandsSeveralRecordsToTheWorkerPerTask() throws Exception {
        Path file = TestFiles.random(dir.resolve("batch.bin"), FILE_BYTES, 11);
        String expectedSha = TestFiles.sha256(file);
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(1);
             DownloadServer server = new DownloadServer(KtlsConfig.builder().offloadGroup(group).build(),
                     UnpooledByteBufAllocator.DEFAULT,
                     request -> new DefaultFileRegion(file.toFile(), 0, FILE_BYTES));
             DownloadClient client = new DownloadClient(1)) {
            long recordsBefore = KtlsMetric.global().recordsSealed();
            long tasksBefore = group.metric().executedTasks();
            DownloadClient.Result result = client.download(server.address(), (byte) 'G', Long.MAX_VALUE,
                    Long.MAX_VALUE, new CompletableFuture<>()).result.get(30, TimeUnit.SECONDS);
            assertNull(result.failure, "download failed: " + result);
            assertEquals(FILE_BYTES, result.bytes);
            assertEquals(expectedSha, result.sha256);
            long records = KtlsMetric.global().recordsSealed() - recordsBefore;
            long tasks = group.metric().executedTasks() - tasksBefore;
            assertTrue(records >= FILE_BYTES / 16384, "records sealed: " + records);
            // 512 records; one task per record would be >= 512 tasks. Batches of up to 8 leave room for the
            // first passes and the close.
            assertTrue(tasks * 3 <= records, tasks + " worker tasks for " + records + " records");
        }
    }

    @Test
    void smallResponseIsSealedOnTheEventLoop() throws Exception {
        SmallResponse response = smallResponse(KtlsConfig.builder());
        // Nothing was ever at the worker, so the keys are released on the event loop too.
        assertEquals(0, response.workerTasks, "worker tasks");
        assertTrue(response.keptInline >= 1, "passes kept inline: " + response.keptInline);
    }

    @Test
    void withoutAMinimumBatchEvenASmallResponseGoesToTheWorker() throws Exception {
        SmallResponse response = smallResponse(KtlsConfig.builder().offloadMinBatchBytes(0));
        // The response's record and close_notify each in a task of its own (the keys are then released on the
        // event loop, once both have come back).
        assertTrue(response.workerTasks >= 2, response.workerTasks + " worker tasks");
        assertEquals(0, response.keptInline, "passes kept inline");
    }

    /** One 4 KiB response over a connection of its own; counted once the connection and the worker are done. */
    private SmallResponse smallResponse(KtlsConfig.Builder config) throws Exception {
        byte[] body = new byte[4096];
        new Random(5).nextBytes(body);
        KtlsStats stats = new KtlsStats();
        KtlsOffloadGroup group = new KtlsOffloadGroup(1);
        try (DownloadServer server = new DownloadServer(config.offloadGroup(group).stats(stats).build(),
                     UnpooledByteBufAllocator.DEFAULT, request -> Unpooled.wrappedBuffer(body));
             DownloadClient client = new DownloadClient(1)) {
            DownloadClient.Result result = client.download(server.address(), (byte) 'G', Long.MAX_VALUE,
                    Long.MAX_VALUE, new CompletableFuture<>()).result.get(30, TimeUnit.SECONDS);
            assertNull(result.failure, "download failed: " + result);
            assertEquals(body.length, result.bytes);
            assertTrue(server.awaitClosedChildren(1, 10_000), "server connection still open");
        } finally {
            group.close();
        }
        assertTrue(stats.recordsSealed() >= 2, "records sealed: " + stats.recordsSealed());
        return new SmallResponse(group.metric().executedTasks(), stats.offloadBatchesKeptInline());
    }

    private static final class SmallResponse {
        final long workerTasks;
        final long keptInline;

        SmallResponse(long workerTasks, long keptInline) {
            this.workerTasks = workerTasks;
            this.keptInline = keptInline;
        }
    }
}
