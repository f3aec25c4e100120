package io.ktls.handler.offload;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shutting the offload group down while connections have records queued on its worker: every queued record is
 * still sealed, every later one is refused, so each connection either completes or fails cleanly; the group
 * terminates, and nothing leaks (leak detector PARANOID, allocator in flight back to 0, file regions released).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OffloadShutdownTest {

    private static final int CONNECTIONS = 8;
    private static final int FILE_BYTES = 2 * 1024 * 1024;
    private static final int SOCKET_BUFFER_BYTES = 32 * 1024;

    @TempDir
    Path dir;

    @Test
    void shutdownWithRecordsInFlightCompletesOrFailsEachAndLeaksNothing() throws Exception {
        Path file = TestFiles.random(dir.resolve("download.bin"), FILE_BYTES, 3);
        String expectedSha = TestFiles.sha256(file);
        List<FileRegion> regions = new CopyOnWriteArrayList<>();
        LeakBaseline baseline = LeakBaseline.take();

        PageRunAllocator alloc = PageRunAllocator.builder().name("offload-shutdown").build();
        KtlsOffloadGroup group = new KtlsOffloadGroup(1);
        DownloadServer server = new DownloadServer(KtlsConfig.builder().offloadGroup(group).build(), alloc,
                request -> {
                    FileRegion region = new DefaultFileRegion(file.toFile(), 0, FILE_BYTES);
                    regions.add(region);
                    return region;
                }, bootstrap -> bootstrap.childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES));
        DownloadClient client = new DownloadClient(2, SOCKET_BUFFER_BYTES);
        EmbeddedChannel blockerChannel = new EmbeddedChannel(DefaultChannelId.newInstance());
        CountDownLatch unblockWorker = new CountDownLatch(1);
        try {
            // 1. Every download starts, then its reader stalls: each connection holds records in flight.
            CompletableFuture<Void> resume = new CompletableFuture<>();
            List<DownloadClient.Download> downloads = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                downloads.add(client.download(server.address(), (byte) 'G', Long.MAX_VALUE, 1, resume));
            }
            for (DownloadClient.Download download : downloads) {
                download.paused.get(10, TimeUnit.SECONDS);
            }

            // 2. Hold the only worker, let the readers go: new records pile up in the worker's queue.
            CountDownLatch workerHeld = new CountDownLatch(1);
            group.workerFor(blockerChannel).execute(() -> {
                workerHeld.countDown();
                Uninterruptibly.await(unblockWorker);
            });
            assertTrue(workerHeld.await(10, TimeUnit.SECONDS));
            resume.complete(null);
            assertTrue(LeakBaseline.eventually(() -> group.metric().queuedTasks() >= CONNECTIONS),
                    "records did not queue up: " + group.metric().queuedTasks());

            // 3. Shut down with those records queued, then free the worker.
            long queuedAtShutdown = group.metric().queuedTasks();
            long executedAtShutdown = group.metric().executedTasks();
            Future<?> terminated = group.shutdownGracefully();
            unblockWorker.countDown();
            assertTrue(terminated.await(10, TimeUnit.SECONDS), "group did not terminate");
            assertTrue(group.metric().executedTasks() >= executedAtShutdown + queuedAtShutdown,
                    "queued records were dropped: " + queuedAtShutdown + " queued, "
                            + (group.metric().executedTasks() - executedAtShutdown) + " run");
            assertEquals(0, group.metric().queuedTasks());
            assertEquals(0, group.metric().failedTasks());

            // 4. Each download ended: complete and intact, or cut short; each server write completed or failed.
            int refused = 0;
            for (DownloadClient.Download download : downloads) {
                DownloadClient.Result result = download.result.get(30, TimeUnit.SECONDS);
                if (result.bytes == FILE_BYTES) {
                    assertEquals(expectedSha, result.sha256);
                }
            }
            assertTrue(server.awaitClosedChildren(CONNECTIONS, 20_000), "server channels still open");
            assertEquals(CONNECTIONS, server.writes.size());
            for (ChannelFuture write : server.writes) {
                assertTrue(write.await(10, TimeUnit.SECONDS), "a write never completed");
                if (!write.isSuccess() && CauseChain.has(write.cause(), RejectedExecutionException.class)) {
                    refused++;
                }
            }
            assertTrue(refused > 0, "no write was refused by the shut-down group");
            baseline.awaitRecordsReturned();
            baseline.awaitSessionsEnded();
        } finally {
            unblockWorker.countDown();
            client.close();
            server.close();
            group.close();
            blockerChannel.close();
        }

        LeakBaseline.assertReleased(regions);
        LeakBaseline.awaitAllocatorDrained(alloc.metric());
        alloc.close();
    }
}
