package io.ktls.examples.reactor;

import io.ktls.examples.tls.SelfSignedCertificate;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsFileRegion;
import io.ktls.handler.KtlsHandler;
import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsStats;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Mono;
import reactor.netty.ChannelPipelineConfigurer;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ReactorFileServer} over real sockets with the JDK's HttpClient: files arrive byte for byte, and the
 * body reached {@link KtlsHandler} as one file region (no {@code SslHandler} or {@code ChunkedWriteHandler} in the
 * pipeline, no body bytes in buffers) and went out in full records sealed by our record layer (counted in a
 * {@link KtlsStats} of this server's own).
 */
class ReactorFileServerTest {

    private static final int[] SIZES = {0, 1, 16384, 16385, 1024 * 1024 + 7};
    private static final int RECORD_PAYLOAD_BYTES = KtlsConfig.DEFAULT_MAX_RECORD_PAYLOAD_BYTES;
    /** Generous room for a response's status line and headers, far below any file body of a test here. */
    private static final int MAX_HEADER_BYTES = 1024;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    static Path dir;
    static Path root;

    static KtlsOffloadGroup offloadGroup;
    static KtlsStats stats;
    static KtlsConfig config;
    static SslContext sslContext;
    static LoopResources loops;
    static DisposableServer server;
    static HttpClient client;
    /** Every message written towards KtlsHandler, by any connection of {@link #server}. */
    static final ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();

    /** The type of what was written just behind KtlsHandler, and what the pipeline looked like at that moment. */
    record Write(Class<?> type, long fileRegionCount, int bufferBytes, boolean sslHandlerPresent,
                 boolean chunkedWriterPresent, boolean recordLayerActive) {
    }

    @BeforeAll
    static void start() throws Exception {
        root = Files.createDirectory(dir.resolve("root"));
        Random random = new Random(42);
        for (int size : SIZES) {
            byte[] content = new byte[size];
            random.nextBytes(content);
            Files.write(root.resolve(fileName(size)), content);
        }
        Files.writeString(dir.resolve("secret.txt"), "outside the root");
        Files.writeString(root.resolve(".hidden"), "hidden");
        Files.createDirectory(root.resolve("folder"));

        SelfSignedCertificate certificate = SelfSignedCertificate.generate(SelfSignedCertificate.KeyType.EC_P256);
        sslContext = SslContextBuilder.forServer(certificate.privateKey(), certificate.certificate())
                .sslProvider(SslProvider.OPENSSL).build();
        offloadGroup = new KtlsOffloadGroup(2);
        stats = new KtlsStats();
        config = KtlsConfig.builder().offloadGroup(offloadGroup).stats(stats).build();
        loops = LoopResources.create("reactor-file-server-test", 2, true);
        server = ReactorFileServer.secure(HttpServer.create(), sslContext, config)
                .doOnChannelInit(recordWritesBehindTheTlsHandler())
                .runOn(loops)
                .host("127.0.0.1")
                .port(0)
                .route(ReactorFileServer.routes(root))
                .bindNow();

        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        trusted.setCertificateEntry("server", certificate.certificate());
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trusted);
        SSLContext clientContext = SSLContext.getInstance("TLS");
        clientContext.init(null, trustManagers.getTrustManagers(), null);
        client = HttpClient.newBuilder().sslContext(clientContext).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(TIMEOUT).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.disposeNow(TIMEOUT);
        }
        if (loops != null) {
            // No quiet period: the server is closed, nothing more is coming, and a quiet period of 2 s (the default)
            // that a late task keeps restarting only runs into the 15 s hard limit.
            loops.disposeLater(Duration.ZERO, Duration.ofSeconds(10)).block(TIMEOUT);
        }
        if (offloadGroup != null) {
            offloadGroup.shutdownGracefully().awaitUninterruptibly(TIMEOUT.toMillis());
        }
    }

    @BeforeEach
    void forgetEarlierWrites() {
        writes.clear();
    }

    private static ChannelPipelineConfigurer recordWritesBehindTheTlsHandler() {
        return (observer, channel, remoteAddress) -> channel.pipeline().addAfter(ReactorFileServer.TLS_HANDLER_NAME,
                "write-recorder", new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                        writes.add(new Write(msg.getClass(),
                                msg instanceof FileRegion ? ((FileRegion) msg).count() : -1,
                                msg instanceof ByteBuf ? ((ByteBuf) msg).readableBytes()
                                        : msg instanceof ByteBufHolder ? ((ByteBufHolder) msg).content().readableBytes()
                                        : 0,
                                ctx.pipeline().get(SslHandler.class) != null,
                                ctx.pipeline().get(ChunkedWriteHandler.class) != null,
                                ctx.pipeline().get(KtlsHandler.class).isRecordLayerActive()));
                        ctx.write(msg, promise);
                    }
                });
    }

    static Stream<Arguments> routesAndSizes() {
        List<Arguments> cases = new ArrayList<>();
        for (int size : SIZES) {
            cases.add(Arguments.of("/", size));
            cases.add(Arguments.of("/shared/", size));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}{1}")
    @MethodSource("routesAndSizes")
    void aFileArrivesExactlyAfterGoingToTheRecordLayerAsOneFileRegionSealedInFullRecords(String route, int size)
            throws Exception {
        long recordsBefore = stats.recordsSealed();
        long bytesBefore = stats.bytesSealed();

        HttpResponse<byte[]> response = get(route + fileName(size));

        assertEquals(200, response.statusCode());
        assertEquals(String.valueOf(size), response.headers().firstValue("content-length").orElse(null));
        assertArrayEquals(Files.readAllBytes(root.resolve(fileName(size))), response.body());

        List<Write> regions = writes.stream().filter(w -> FileRegion.class.isAssignableFrom(w.type())).toList();
        if (size == 0) {
            assertEquals(List.of(), regions, "an empty file has no body to write");
            return;
        }
        assertEquals(1, regions.size(), () -> "one file region written, got " + writes);
        Write region = regions.get(0);
        assertEquals(size, region.fileRegionCount());
        if (route.equals("/shared/")) {
            assertEquals(KtlsFileRegion.class, region.type(), "sendObject passes our region on as is");
        } else {
            assertEquals(DefaultFileRegion.class, region.type(), "sendFile makes a DefaultFileRegion of its own");
        }
        assertFalse(region.sslHandlerPresent(), "SslHandler left at the takeover, before the request was read");
        assertFalse(region.chunkedWriterPresent(), "reactor-netty did not fall back to chunked copies");
        assertTrue(region.recordLayerActive(), "KtlsHandler's record layer, not SslHandler's, sends the region");
        assertTrue(writes.stream().noneMatch(w -> ChunkedInput.class.isAssignableFrom(w.type())), () -> "" + writes);
        int bufferBytes = writes.stream().mapToInt(Write::bufferBytes).sum();
        assertTrue(bufferBytes < MAX_HEADER_BYTES, () -> "only the headers travel in buffers: " + writes);

        // The counters move as records are sealed, possibly on an offload worker a moment after the client
        // has read the last byte.
        long expectedRecords = Math.max(1, (size + RECORD_PAYLOAD_BYTES - 1) / RECORD_PAYLOAD_BYTES);
        awaitAtLeast(size + bufferBytes, () -> stats.bytesSealed() - bytesBefore, "plaintext bytes sealed");
        awaitAtLeast(expectedRecords, () -> stats.recordsSealed() - recordsBefore, "records sealed");
        long records = stats.recordsSealed() - recordsBefore;
        // Full records: a 1 KiB chunked copy would have needed 16 times as many if they were not coalesced.
        assertTrue(records <= expectedRecords + 2, () -> records + " records for " + size + " bytes");
        assertEquals(0, stats.fallbacks(), "no connection fell back to SslHandler");
    }

    @Test
    void concurrentDownloadsOnSeveralConnectionsAreExact() throws Exception {
        int size = SIZES[SIZES.length - 1];
        byte[] expected = Files.readAllBytes(root.resolve(fileName(size)));
        long sessionsBefore = stats.sessionsTotal();
        List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String route = i % 2 == 0 ? "/" : "/shared/";
            responses.add(client.sendAsync(request(route + fileName(size)), HttpResponse.BodyHandlers.ofByteArray()));
        }
        for (CompletableFuture<HttpResponse<byte[]>> response : responses) {
            HttpResponse<byte[]> done = response.get(TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            assertEquals(200, done.statusCode());
            assertArrayEquals(expected, done.body());
        }
        assertEquals(8, writes.stream().filter(w -> w.fileRegionCount() == size).count(), () -> "" + writes);
        assertTrue(stats.sessionsTotal() > sessionsBefore, "concurrent requests opened new connections");
        assertEquals(0, stats.fallbacks());
    }

    /**
     * A connection whose suite the record layer does not take keeps SslHandler in its pipeline: reactor-netty sees
     * it and copies sendFile's file in chunks, and KtlsHandler copies a KtlsFileRegion itself; both arrive exact.
     */
    @Test
    void aConnectionLeftOnSslHandlerGetsChunkedCopiesAndExactFiles() throws Exception {
        KtlsStats fallbackStats = new KtlsStats();
        KtlsConfig noTakeover = KtlsConfig.builder().stats(fallbackStats).takeoverSuites().build();
        DisposableServer fallbackServer = ReactorFileServer.secure(HttpServer.create(), sslContext, noTakeover)
                .doOnChannelInit(recordWritesBehindTheTlsHandler())
                .runOn(loops)
                .host("127.0.0.1")
                .port(0)
                .route(ReactorFileServer.routes(root))
                .bindNow();
        try {
            int size = SIZES[SIZES.length - 1];
            byte[] expected = Files.readAllBytes(root.resolve(fileName(size)));
            for (String route : List.of("/", "/shared/")) {
                HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(URI.create(
                        "https://127.0.0.1:" + fallbackServer.port() + route + fileName(size))).timeout(TIMEOUT)
                        .build(), HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(200, response.statusCode(), route);
                assertArrayEquals(expected, response.body(), route);
            }
            assertTrue(writes.stream().anyMatch(w -> ChunkedInput.class.isAssignableFrom(w.type())
                                                     && w.sslHandlerPresent() && w.chunkedWriterPresent()),
                    () -> "sendFile chunked its copy: " + writes);
            assertTrue(writes.stream().anyMatch(w -> w.type() == KtlsFileRegion.class && !w.recordLayerActive()),
                    () -> "the shared route still wrote its region: " + writes);
            assertTrue(fallbackStats.fallbacks() >= 1, "counted as a fallback");
            assertEquals(0, fallbackStats.recordsSealed(), "nothing sealed by our record layer");
        } finally {
            fallbackServer.disposeNow(TIMEOUT);
        }
    }

    @Test
    void requestsSeeTheHttpsScheme() throws Exception {
        DisposableServer schemeServer = ReactorFileServer.secure(HttpServer.create(), sslContext, config)
                .runOn(loops)
                .host("127.0.0.1")
                .port(0)
                .handle((request, response) -> response.sendString(Mono.just(request.scheme())))
                .bindNow();
        try {
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + schemeServer.port() + "/")).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals("https", response.body());
        } finally {
            schemeServer.disposeNow(TIMEOUT);
        }
    }

    @Test
    void namesThatCouldLeaveTheRootOrAreNoRegularFileAreNotFound() throws Exception {
        for (String target : Arrays.asList("/..%2Fsecret.txt", "/%2e%2e/secret.txt", "/.hidden", "/folder",
                "/missing.bin", "/shared/..%2Fsecret.txt", "/shared/.hidden", "/shared/folder", "/shared/missing.bin",
                "/folder/x")) {
            HttpResponse<byte[]> response = get(target);
            assertEquals(404, response.statusCode(), target);
        }
        assertTrue(writes.stream().noneMatch(w -> FileRegion.class.isAssignableFrom(w.type())), () -> "" + writes);
    }

    @Test
    void startServesOnTheGivenPortUntilClosed() throws Exception {
        int port;
        try (ReactorFileServer started = ReactorFileServer.start(root, "127.0.0.1", 0, sslContext, config)) {
            port = started.port();
            HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + port + "/" + fileName(16385))).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, response.statusCode());
            assertArrayEquals(Files.readAllBytes(root.resolve(fileName(16385))), response.body());
        }
        HttpClient fresh = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
        IOException refused = assertThrows(IOException.class, () -> fresh.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/")).timeout(TIMEOUT).build(),
                HttpResponse.BodyHandlers.discarding()));
        assertInstanceOf(ConnectException.class, refused, "the port is closed: " + refused);
    }

    private static HttpResponse<byte[]> get(String target) throws IOException, InterruptedException {
        return client.send(request(target), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpRequest request(String target) {
        return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + target)).timeout(TIMEOUT)
                .build();
    }

    private static String fileName(int size) {
        return "file-" + size + ".bin";
    }

    private static void awaitAtLeast(long expected, LongSupplier actual, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (actual.getAsLong() < expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(actual.getAsLong() >= expected, what + ": " + actual.getAsLong() + " (expected: >= " + expected
                + ')');
    }
}
