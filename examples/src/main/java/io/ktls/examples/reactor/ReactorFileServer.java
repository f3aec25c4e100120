package io.ktls.examples.reactor;

import io.ktls.examples.tls.TlsOptions;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsFileRegion;
import io.ktls.handler.KtlsHandler;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.SslContext;
import org.reactivestreams.Publisher;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.http.server.HttpServerRoutes;
import reactor.netty.resources.LoopResources;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A reactor-netty {@link HttpServer} secured by {@link KtlsHandler} instead of {@code .secure(...)}, serving the
 * files of one folder: {@code java -cp ktls-file-server.jar io.ktls.examples.reactor.ReactorFileServer [root [port]]}
 * (defaults: the current folder, 8443; a self-signed certificate for {@code localhost} is generated at start).
 *
 * <p>Why it matters: reactor-netty's {@code sendFile} writes a {@code DefaultFileRegion} only when no
 * {@code SslHandler} (and no compression handler) is in the pipeline; with {@code .secure(...)} it falls back to
 * a {@code ChunkedWriteHandler} copying the file in 1 KiB {@code ChunkedNioFile} chunks, each wrapped by
 * {@code SslHandler}. {@code KtlsHandler} takes {@code SslHandler} out of the pipeline once the handshake is done,
 * before the first request can be read, so {@code sendFile} writes its file region and our record layer seals it
 * in full records. A connection that falls back to {@code SslHandler} (a suite outside the record layer's) keeps
 * it in the pipeline, and {@code sendFile} chunks again, as that connection needs (a {@code KtlsFileRegion}
 * written to such a connection is copied to {@code SslHandler} by {@code KtlsHandler} itself).
 *
 * <ul>
 *   <li>{@code GET /{file}}: reactor-netty's own {@code response.sendFile(path)}. It opens a {@code FileChannel}
 *       and writes a {@code DefaultFileRegion} over it, which the record layer reads with one {@code pread} per
 *       record.</li>
 *   <li>{@code GET /shared/{file}}: the faster variant, a {@link KtlsFileRegion} written with
 *       {@code response.sendObject(region)}: the record layer seals it from a read-only mapping of the file
 *       shared by every connection sending it, no system call or kernel copy per record (files of 64 KiB to
 *       2 GiB; see {@code KtlsConfig}, system property {@code io.ktls.handler.mappedFiles}).</li>
 * </ul>
 * Only HTTP/1.1: reactor-netty copies files in chunks on HTTP/2 streams whatever secures the connection.
 *
 * <p>Threads: the main thread starts and closes the server; requests are answered on reactor-netty's event
 * loops, which share only the immutable root, TLS context and configuration.
 */
public final class ReactorFileServer implements AutoCloseable {

    /** The name of the {@link KtlsHandler} in each pipeline, first of all handlers. */
    public static final String TLS_HANDLER_NAME = "ktls";

    /**
     * Names served: one path segment of letters, digits, dots, dashes and underscores, not starting with a dot.
     * Anything else (encoded separators, {@code ..}, hidden files) is answered 404 without touching the disk.
     */
    private static final Pattern SERVED_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");
    private static final int DEFAULT_PORT = 8443;
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(5);

    private final DisposableServer server;
    private final LoopResources loops;

    private ReactorFileServer(DisposableServer server, LoopResources loops) {
        this.server = server;
        this.loops = loops;
    }

    /**
     * Secures {@code server} with a {@link KtlsHandler} per connection, first in its pipeline, in place of
     * {@code server.secure(...)}. reactor-netty decides {@code https} by looking for an {@code SslHandler} at
     * the first read, which {@code KtlsHandler} has removed by then, so the scheme it reports
     * ({@code request.scheme()}, redirects built from it) is set here too.
     *
     * @param sslContext a server context of the OpenSSL (BoringSSL) provider
     * @param config     shared by every connection (with its offload group, if any)
     */
    public static HttpServer secure(HttpServer server, SslContext sslContext, KtlsConfig config) {
        Objects.requireNonNull(sslContext, "sslContext");
        Objects.requireNonNull(config, "config");
        return server
                .doOnChannelInit((observer, channel, remoteAddress) ->
                        channel.pipeline().addFirst(TLS_HANDLER_NAME, new KtlsHandler(sslContext, config)))
                .forwarded((connectionInfo, request) -> connectionInfo.withScheme("https"));
    }

    /** The routes of this server over {@code root} (see the class description). */
    public static Consumer<HttpServerRoutes> routes(Path root) {
        Path realRoot;
        try {
            realRoot = root.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("root: " + root + " (" + e + ')', e);
        }
        return routes -> routes
                .get("/shared/{file}", (request, response) -> sendShared(realRoot, request.param("file"), response))
                .get("/{file}", (request, response) -> sendFile(realRoot, request.param("file"), response));
    }

    /** reactor-netty's own path: {@code sendFile} writes a {@code DefaultFileRegion} over a fresh FileChannel. */
    private static Publisher<Void> sendFile(Path root, String name, HttpServerResponse response) {
        Path file = servedFile(root, name);
        if (file == null) {
            return response.sendNotFound();
        }
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            return response.sendNotFound();
        } catch (IOException e) {
            return response.status(HttpResponseStatus.INTERNAL_SERVER_ERROR).send();
        }
        // reactor-netty starts every response as Transfer-Encoding: chunked, and sendFile keeps that; a
        // Content-Length of our own replaces it (HttpServerResponse.header), as a file server's response should.
        response.header(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
                .header(HttpHeaderNames.CONTENT_LENGTH, Long.toString(size));
        return size == 0 ? response.send() : response.sendFile(file, 0, size);
    }

    /**
     * The faster path: the region is opened before the response is committed, so a file gone or replaced
     * meanwhile still gets a status of its own. From {@code sendObject} on, reactor-netty owns the region: the
     * write releases it, and a response cancelled before the write releases it too.
     */
    private static Publisher<Void> sendShared(Path root, String name, HttpServerResponse response) {
        Path file = servedFile(root, name);
        if (file == null) {
            return response.sendNotFound();
        }
        KtlsFileRegion region;
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isRegularFile()) {
                return response.sendNotFound();
            }
            response.header(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
                    .header(HttpHeaderNames.CONTENT_LENGTH, Long.toString(attributes.size()));
            if (attributes.size() == 0) {
                return response.send();
            }
            region = KtlsFileRegion.open(file, attributes, 0, attributes.size());
        } catch (NoSuchFileException e) {
            return response.sendNotFound();
        } catch (KtlsFileRegion.FileChangedException e) {
            // Replaced between reading its attributes and opening it: let the client ask again.
            return response.status(HttpResponseStatus.SERVICE_UNAVAILABLE).header(HttpHeaderNames.RETRY_AFTER, "1")
                    .header(HttpHeaderNames.CONTENT_LENGTH, "0").send();
        } catch (IOException e) {
            return response.status(HttpResponseStatus.INTERNAL_SERVER_ERROR)
                    .header(HttpHeaderNames.CONTENT_LENGTH, "0").send();
        }
        return response.sendObject(region);
    }

    /** The regular file {@code name} stands for under {@code root}, or {@code null} (not served: 404). */
    private static Path servedFile(Path root, String name) {
        if (name == null || !SERVED_NAME.matcher(name).matches()) {
            return null;
        }
        Path file = root.resolve(name);
        // NOFOLLOW_LINKS: a link could lead out of the root.
        return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? file : null;
    }

    /**
     * Binds a server of {@link #routes(Path)} on {@code host:port} (0: any free port), on event loops of its own.
     *
     * @param config the caller's, with its offload group, which the caller shuts down after {@link #close()}
     */
    public static ReactorFileServer start(Path root, String host, int port, SslContext sslContext,
                                          KtlsConfig config) {
        Consumer<HttpServerRoutes> routes = routes(root);
        LoopResources loops = LoopResources.create("ktls-reactor");
        try {
            DisposableServer server = secure(HttpServer.create(), sslContext, config)
                    .runOn(loops)
                    .host(host)
                    .port(port)
                    .route(routes)
                    .bindNow();
            return new ReactorFileServer(server, loops);
        } catch (RuntimeException e) {
            loops.disposeLater(Duration.ZERO, SHUTDOWN_TIMEOUT).block(SHUTDOWN_TIMEOUT.multipliedBy(2));
            throw e;
        }
    }

    /** The port bound. */
    public int port() {
        return server.port();
    }

    /** Stops accepting, closes the connections and stops the event loops (each step bounded by 5 s). */
    @Override
    public void close() {
        server.disposeNow(SHUTDOWN_TIMEOUT);
        loops.disposeLater(Duration.ZERO, SHUTDOWN_TIMEOUT).block(SHUTDOWN_TIMEOUT.multipliedBy(2));
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".");
        int port = args.length > 1 ? Integer.parseInt(args[1]) : DEFAULT_PORT;
        SslContext sslContext = new TlsOptions(null, null, null, null).newServerContext();
        KtlsOffloadGroup offloadGroup = new KtlsOffloadGroup();
        KtlsConfig config = KtlsConfig.builder().offloadGroup(offloadGroup).build();
        ReactorFileServer server = start(root, "0.0.0.0", port, sslContext, config);
        System.err.println("serving " + root.toRealPath() + ", " + config);
        System.out.println("listening on https://localhost:" + server.port() + '/');
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            offloadGroup.shutdownGracefully().awaitUninterruptibly(SHUTDOWN_TIMEOUT.toMillis());
        }, "ktls-reactor-shutdown"));
        server.server.onDispose().block();
    }
}
