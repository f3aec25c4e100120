package io.ktls.handler.offload;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroup;
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
import java.security.ProviderException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failure raised on an offload worker while it seals one connection's record closes that connection only:
 * another connection pinned to the same worker, with records in flight at that moment, completes intact.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OffloadWorkerFailureTest {

    private static final int FILE_BYTES = 4 * 1024 * 1024;
    private static final byte HEALTHY = 'H';
    private static final byte BROKEN = 'B';
    private static final int SOCKET_BUFFER_BYTES = 32 * 1024;

    @TempDir
    Path dir;

    private KtlsOffloadGroup group;
    private DownloadServer server;
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
        if (server != null) {
            server.close();
        }
        group.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"crypto provider failure", "file read failure"})
    void failureOnAWorkerClosesOnlyItsConnection(String kind) throws Exception {
        Path file = TestFiles.random(dir.resolve("healthy.bin"), FILE_BYTES, 1);
        String expectedSha = TestFiles.sha256(file);
        Supplier<Throwable> injected = kind.startsWith("crypto")
                ? () -> new ProviderException("injected cipher failure")
                : () -> new IOException("injected read failure");
        long cryptoFailuresBefore = KtlsMetric.global().cryptoFailures();

        server = new DownloadServer(KtlsConfig.builder().offloadGroup(group).build(), UnpooledByteBufAllocator.DEFAULT,
                request -> {
                    FileRegion region = request == HEALTHY
                            ? new DefaultFileRegion(file.toFile(), 0, FILE_BYTES)
                            : new FailingFileRegion(FILE_BYTES, 5 * 16384 + 100, injected);
                    regions.add(region);
                    return region;
                }, bootstrap -> bootstrap.childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES));
        // Small socket buffers on both sides: the stalled healthy download keeps most of its file unsent.
        client = new DownloadClient(2, SOCKET_BUFFER_BYTES);

        // The healthy download stalls after its first bytes, so its records are in flight on the shared worker
        // while the broken one fails there; then it resumes and must complete intact.
        CompletableFuture<Void> resume = new CompletableFuture<>();
        DownloadClient.Download healthy = client.download(server.address(), HEALTHY, Long.MAX_VALUE, 1, resume);
        healthy.paused.get(10, TimeUnit.SECONDS);
        DownloadClient.Download broken = client.download(server.address(), BROKEN, Long.MAX_VALUE, Long.MAX_VALUE,
                new CompletableFuture<>());

        DownloadClient.Result brokenResult = broken.result.get(20, TimeUnit.SECONDS);
        assertTrue(brokenResult.bytes < FILE_BYTES, "the broken download got everything: " + brokenResult);
        ChannelFuture healthyWrite = server.writes.get(0);
        assertFalse(healthyWrite.isDone(), "the healthy download was not in flight when the other one failed");
        long tasksAtFailure = group.metric().executedTasks();
        resume.complete(null);
        DownloadClient.Result healthyResult = healthy.result.get(30, TimeUnit.SECONDS);
        assertNull(healthyResult.failure, "healthy download failed: " + healthyResult);
        assertEquals(FILE_BYTES, healthyResult.bytes);
        assertEquals(expectedSha, healthyResult.sha256);
        // Most of the healthy file was sealed after the failure, on the very worker it happened on.
        long recordsSealedAfter = group.metric().executedTasks() - tasksAtFailure;
        assertTrue(recordsSealedAfter > FILE_BYTES / 16384 / 2, "tasks after the failure: " + recordsSealedAfter);

        assertTrue(server.awaitClosedChildren(2, 10_000), "server channels still open");
        ChannelFuture failedWrite = null;
        ChannelFuture completedWrite = null;
        for (ChannelFuture write : server.writes) {
            assertTrue(write.await(10, TimeUnit.SECONDS));
            if (write.isSuccess()) {
                completedWrite = write;
            } else {
                failedWrite = write;
            }
        }
        assertNotNull(completedWrite, "the healthy write did not complete");
        assertNotNull(failedWrite, "the broken write did not fail");
        assertTrue(causedBy(failedWrite.cause(), "injected"), "unexpected cause: " + failedWrite.cause());
        assertTrue(server.exceptions.stream().anyMatch(e -> causedBy(e, "injected")),
                "the pipeline did not hear of the failure: " + server.exceptions);
        assertEquals(2, regions.size());
        for (FileRegion region : regions) {
            assertEquals(0, region.refCnt(), "region not released: " + region);
        }
        assertTrue(KtlsMetric.global().cryptoFailures() > cryptoFailuresBefore);
        assertEquals(0, group.metric().failedTasks(), "the failure escaped the connection's task");
        assertFalse(group.isShuttingDown());
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
