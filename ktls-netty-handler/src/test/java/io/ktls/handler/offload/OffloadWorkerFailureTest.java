package io.ktls.handler.offload;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failure raised on an offload worker while it seals one connection's record closes that connection only:
 * another connection pinned to the same worker, with records in flight at that moment, completes intact.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OffloadWorkerFailureTest {

    private static final int FILE_BYTES = 4 * 1024 * 1024;
    private static final byte REQUEST = 'G';
    private static final int SOCKET_BUFFER_BYTES = 32 * 1024;
    private static final String INJECTED_READ_FAILURE = "injected read failure";
    private static final Consumer<ServerBootstrap> SMALL_SEND_BUFFER =
            bootstrap -> bootstrap.childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES);

    @TempDir
    Path dir;

    private KtlsOffloadGroup group;
    private DownloadServer healthyServer;
    private DownloadServer brokenServer;
    private DownloadClient client;
    private final List<FileRegion> regions = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        group = new KtlsOffloadGroup(1); // one worker: both connections share it
    }

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        if (brokenServer != null) {
            brokenServer.close();
        }
        if (healthyServer != null) {
            healthyServer.close();
        }
        group.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"cipher failure", "file read failure"})
    void failureOnAWorkerClosesOnlyItsConnection(String kind) throws Exception {
        Path file = TestFiles.random(dir.resolve("healthy.bin"), FILE_BYTES, 1);
        String expectedSha = TestFiles.sha256(file);
        long cryptoFailuresBefore = KtlsMetric.global().cryptoFailures();

        // Two servers, one offload group of one worker: every connection of both is pinned to that worker.
        healthyServer = new DownloadServer(KtlsConfig.builder().offloadGroup(group).build(),
                UnpooledByteBufAllocator.DEFAULT,
                request -> region(new DefaultFileRegion(file.toFile(), 0, FILE_BYTES)), SMALL_SEND_BUFFER);
        if (kind.startsWith("cipher")) {
            // The cipher throws on the worker after a few good records.
            brokenServer = new DownloadServer(
                    KtlsConfig.builder().offloadGroup(group).aeadProvider(new FailingAeadProvider(5)).build(),
                    UnpooledByteBufAllocator.DEFAULT,
                    request -> region(new DefaultFileRegion(file.toFile(), 0, FILE_BYTES)), SMALL_SEND_BUFFER);
        } else {
            // The file read throws on the worker after a few good records.
            brokenServer = new DownloadServer(KtlsConfig.builder().offloadGroup(group).build(),
                    UnpooledByteBufAllocator.DEFAULT,
                    request -> region(new FailingFileRegion(FILE_BYTES, 5 * 16384 + 100,
                            () -> new IOException(INJECTED_READ_FAILURE))), SMALL_SEND_BUFFER);
        }
        // Small socket buffers on both sides: the stalled healthy download keeps most of its file unsent.
        client = new DownloadClient(2, SOCKET_BUFFER_BYTES);

        // The healthy download stalls after its first bytes, so its records are in flight on the shared worker
        // while the broken one fails there; then it resumes and must complete intact.
        CompletableFuture<Void> resume = new CompletableFuture<>();
        DownloadClient.Download healthy = client.download(healthyServer.address(), REQUEST, Long.MAX_VALUE, 1,
                resume);
        healthy.paused.get(10, TimeUnit.SECONDS);
        DownloadClient.Download broken = client.download(brokenServer.address(), REQUEST, Long.MAX_VALUE,
                Long.MAX_VALUE, new CompletableFuture<>());

        DownloadClient.Result brokenResult = broken.result.get(20, TimeUnit.SECONDS);
        assertTrue(brokenResult.bytes < FILE_BYTES, "the broken download got everything: " + brokenResult);
        ChannelFuture healthyWrite = healthyServer.writes.get(0);
        assertFalse(healthyWrite.isDone(), "the healthy download was not in flight when the other one failed");
        long tasksAtFailure = group.metric().executedTasks();
        long recordsAtFailure = KtlsMetric.global().recordsSealed();
        resume.complete(null);
        DownloadClient.Result healthyResult = healthy.result.get(30, TimeUnit.SECONDS);
        assertNull(healthyResult.failure, "healthy download failed: " + healthyResult);
        assertEquals(FILE_BYTES, healthyResult.bytes);
        assertEquals(expectedSha, healthyResult.sha256);
        // Most of the healthy file was sealed after the failure, on the very worker it happened on (the group's
        // only one; a task seals a batch of records).
        long recordsSealedAfter = KtlsMetric.global().recordsSealed() - recordsAtFailure;
        assertTrue(recordsSealedAfter > FILE_BYTES / 16384 / 2, "records after the failure: " + recordsSealedAfter);
        assertTrue(group.metric().executedTasks() > tasksAtFailure, "no task ran on the worker after the failure");

        assertTrue(brokenServer.awaitClosedChildren(1, 10_000), "broken server channel still open");
        assertTrue(healthyServer.awaitClosedChildren(1, 10_000), "healthy server channel still open");
        assertTrue(healthyWrite.await(10, TimeUnit.SECONDS) && healthyWrite.isSuccess(),
                "healthy write: " + healthyWrite.cause());
        ChannelFuture failedWrite = brokenServer.writes.get(0);
        assertTrue(failedWrite.await(10, TimeUnit.SECONDS));
        assertFalse(failedWrite.isSuccess(), "the broken write succeeded");
        String marker = kind.startsWith("cipher") ? FailingAeadProvider.MESSAGE : INJECTED_READ_FAILURE;
        assertTrue(causedBy(failedWrite.cause(), marker), "unexpected cause: " + failedWrite.cause());
        assertTrue(brokenServer.exceptions.stream().anyMatch(e -> causedBy(e, marker)),
                "the pipeline did not hear of the failure: " + brokenServer.exceptions);
        assertTrue(healthyServer.exceptions.isEmpty(), "healthy connection saw: " + healthyServer.exceptions);
        assertEquals(2, regions.size());
        for (FileRegion region : regions) {
            assertEquals(0, region.refCnt(), "region not released: " + region);
        }
        assertTrue(KtlsMetric.global().cryptoFailures() > cryptoFailuresBefore);
        assertEquals(0, group.metric().failedTasks(), "the failure escaped the connection's task");
        assertFalse(group.isShuttingDown());
    }

    private FileRegion region(FileRegion region) {
        regions.add(region);
        return region;
    }

    private static boolean causedBy(Throwable t, String marker) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null && c.getMessage().contains(marker)) {
                return true;
            }
        }
        return false;
    }
}
