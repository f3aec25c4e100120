package io.ktls.handler.offload;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.channel.ChannelFuture;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every buffer comes back after many downloads that the client aborts mid-file: a real loopback server with
 * {@code KtlsHandler} in offload mode sends a {@link DefaultFileRegion} of a few MiB from a
 * {@link PageRunAllocator}; each client closes as soon as its first bytes arrive, while the server has records
 * framed, being sealed on a worker, and queued for the socket. Afterwards the leak detector (PARANOID) reports
 * nothing, the allocator has no run in flight, every file region is released and the record layer's gauges are
 * back where they started.
 */
@Tag("stress")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AbortedDownloadsStressTest {

    private static final int DOWNLOADS = 1000;
    private static final int CONCURRENT = 16;
    private static final int FILE_BYTES = 4 * 1024 * 1024;
    private static final long TIME_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(60);

    @TempDir
    Path dir;

    @Test
    void everyBufferComesBackAfterAThousandAbortedDownloads() throws Exception {
        Path file = TestFiles.random(dir.resolve("download.bin"), FILE_BYTES, 7);
        List<FileRegion> regions = new CopyOnWriteArrayList<>();
        LeakBaseline baseline = LeakBaseline.take();
        long started = System.nanoTime();

        PageRunAllocator alloc = PageRunAllocator.builder().name("aborted-downloads").build();
        KtlsOffloadGroup group = new KtlsOffloadGroup(2);
        DownloadServer server = new DownloadServer(KtlsConfig.builder().offloadGroup(group).build(), alloc,
                request -> {
                    FileRegion region = new DefaultFileRegion(file.toFile(), 0, FILE_BYTES);
                    regions.add(region);
                    return region;
                });
        DownloadClient client = new DownloadClient(2);
        try {
            Semaphore slots = new Semaphore(CONCURRENT);
            List<CompletableFuture<DownloadClient.Result>> downloads = new ArrayList<>(DOWNLOADS);
            for (int i = 0; i < DOWNLOADS; i++) {
                assertTrue(slots.tryAcquire(30, TimeUnit.SECONDS), "downloads stopped finishing at " + i);
                CompletableFuture<DownloadClient.Result> download = client.download(server.address(), (byte) 'G', 1);
                download.whenComplete((result, error) -> slots.release());
                downloads.add(download);
            }
            for (CompletableFuture<DownloadClient.Result> download : downloads) {
                DownloadClient.Result result = download.get(30, TimeUnit.SECONDS);
                assertTrue(result.bytes > 0 && result.bytes < FILE_BYTES, "not an aborted download: " + result);
            }
            assertTrue(server.awaitClosedChildren(DOWNLOADS, 20_000),
                    "server channels still open: " + (DOWNLOADS - server.closedChildren.get()));
            assertEquals(DOWNLOADS, server.writes.size());
            for (ChannelFuture write : server.writes) {
                assertTrue(write.await(10, TimeUnit.SECONDS), "a write never completed");
            }
            // While the server still runs, every record handed to a worker comes back and is accounted for.
            baseline.awaitRecordsReturned();
            // A channel's close future completes just before its handlers hear channelInactive.
            baseline.awaitSessionsEnded();
        } finally {
            client.close();
            server.close();
            group.close();
        }

        assertEquals(DOWNLOADS, regions.size());
        LeakBaseline.assertReleased(regions);
        assertEquals(0, group.metric().queuedTasks());
        assertEquals(0, group.metric().failedTasks());
        LeakBaseline.awaitAllocatorDrained(alloc.metric());
        baseline.assertRecordsReturned();
        baseline.assertSessionsEnded();
        alloc.close();
        long elapsedNanos = System.nanoTime() - started;
        assertTrue(elapsedNanos < TIME_BUDGET_NANOS, "took " + TimeUnit.NANOSECONDS.toMillis(elapsedNanos) + " ms");
    }
}
