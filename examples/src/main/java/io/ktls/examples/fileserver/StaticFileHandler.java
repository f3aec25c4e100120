package io.ktls.examples.fileserver;

import io.ktls.examples.tls.ServerMode;
import io.ktls.handler.KtlsFileRegion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedNioFile;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Date;
import java.util.function.Supplier;

/**
 * Answers GET and HEAD for the files and folders under a {@link DocumentRoot}, one request at a time in
 * arrival order (so pipelined requests are answered in order: {@code HttpServerCodec} pairs them up).
 * One instance per connection, used only by that connection's event loop.
 *
 * <p>A file body goes out as a {@link KtlsFileRegion} when the mode writes file regions (plain, and
 * the ktls-netty modes, where the TLS handler takes the region itself and serves it from a mapping shared by
 * every connection sending that file), or as
 * {@code HttpChunkedInput(ChunkedNioFile)} read on the event loop by {@code ChunkedWriteHandler} in
 * {@code sslhandler} mode. Either way the file channel belongs to the message once written: the region
 * or the chunked input closes it when the write completes or fails. In the modes that write file regions, files
 * served again and again stay open in the event loop's {@link OpenFileCache}, and each response writes a slice of
 * the region kept there.
 */
final class StaticFileHandler extends SimpleChannelInboundHandler<HttpObject> {

    static final String STATS_PATH = "/_stats";
    /** Chunk size of {@code ChunkedNioFile} in sslhandler mode: Netty's own default. */
    private static final int CHUNK_BYTES = 8192;
    /** A file replaced while it is opened is looked up again, this many times in all, before a 503. */
    private static final int MAX_OPEN_ATTEMPTS = 3;

    private final DocumentRoot root;
    private final ServerMode mode;
    private final ServerCounters counters;
    private final AccessLog accessLog;
    private final Supplier<String> statsJson;
    private final OpenFileCache.PerLoop openFiles;

    StaticFileHandler(DocumentRoot root, ServerMode mode, ServerCounters counters, AccessLog accessLog,
                      Supplier<String> statsJson, OpenFileCache.PerLoop openFiles) {
        this.root = root;
        this.mode = mode;
        this.openFiles = openFiles;
        this.counters = counters;
        this.accessLog = accessLog;
        this.statsJson = statsJson;
    }

    /** What the access log needs to know about the request being answered. */
    private static final class Exchange {
        final String requestLine;
        final long startNanos = System.nanoTime();
        final boolean keepAlive;
        final boolean head;

        Exchange(HttpRequest request, boolean keepAlive) {
            this.requestLine = request.method() + " " + request.uri() + ' ' + request.protocolVersion();
            this.keepAlive = keepAlive;
            this.head = HttpMethod.HEAD.equals(request.method());
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counters.connectionsAccepted.increment();
        counters.connectionsOpen.increment();
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        counters.connectionsOpen.decrement();
        super.channelInactive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
        if (!(msg instanceof HttpRequest)) {
            return; // request bodies are not used; SimpleChannelInboundHandler releases them
        }
        HttpRequest request = (HttpRequest) msg;
        counters.requests.increment();
        if (request.decoderResult().isFailure()) {
            Exchange exchange = new Exchange(request, false);
            sendStatus(ctx, exchange, HttpResponseStatus.BAD_REQUEST);
            return;
        }
        Exchange exchange = new Exchange(request, HttpUtil.isKeepAlive(request));
        HttpMethod method = request.method();
        if (!HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method)) {
            HttpResponse response = statusResponse(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED);
            response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            send(ctx, exchange, response);
            return;
        }
        String uri = request.uri();
        String decodedPath = DocumentRoot.decodedPath(uri);
        if (STATS_PATH.equals(decodedPath)) {
            sendText(ctx, exchange, HttpResponseStatus.OK, statsJson.get() + '\n', "application/json");
            return;
        }
        OpenFileCache cache = openFiles.isEnabled() && mode.writesFileRegions() ? openFiles.get() : null;
        String cacheKey = cache != null ? DocumentRoot.rawPath(uri) : null;
        long now = exchange.startNanos;
        OpenFileCache.Entry kept = cache != null ? cache.fresh(cacheKey, now) : null;
        if (kept != null) {
            try {
                sendFile(ctx, exchange, request, kept.path, kept.attributes, kept.region);
            } catch (IOException e) {
                sendStatus(ctx, exchange, HttpResponseStatus.NOT_FOUND); // not thrown with a kept file
            }
            return;
        }
        DocumentRoot.Resolution resolution = root.resolve(uri);
        if (!resolution.isFound()) {
            if (cache != null) {
                cache.forget(cacheKey);
            }
            sendStatus(ctx, exchange, HttpResponseStatus.valueOf(resolution.status));
            return;
        }
        Path path = resolution.path;
        BasicFileAttributes attributes = resolution.attributes;
        for (int attempt = 1; ; attempt++) {
            try {
                if (attempt > 1) {
                    attributes = Files.readAttributes(path, BasicFileAttributes.class);
                }
                if (attributes.isDirectory()) {
                    if (cache != null) {
                        cache.forget(cacheKey);
                    }
                    sendDirectory(ctx, exchange, path, uri, decodedPath);
                } else if (cache != null && attributes.isRegularFile()) {
                    // Only regular files are kept (KtlsFileRegion.open refuses the rest); anything else is
                    // answered from its attributes as before, a FIFO with its size 0 and never opened.
                    OpenFileCache.Entry entry = cache.open(cacheKey, path, attributes, now);
                    sendFile(ctx, exchange, request, entry.path, entry.attributes, entry.region);
                } else {
                    sendFile(ctx, exchange, request, path, attributes, null);
                }
                return;
            } catch (KtlsFileRegion.FileChangedException e) {
                if (attempt == MAX_OPEN_ATTEMPTS) {
                    sendStatus(ctx, exchange, HttpResponseStatus.SERVICE_UNAVAILABLE);
                    return;
                }
                // Replaced while it was being opened: answer from what the path names now.
            } catch (AccessDeniedException e) {
                sendStatus(ctx, exchange, HttpResponseStatus.FORBIDDEN);
                return;
            } catch (IOException e) {
                sendStatus(ctx, exchange, HttpResponseStatus.NOT_FOUND);
                return;
            }
        }
    }

    private void sendDirectory(ChannelHandlerContext ctx, Exchange exchange, Path directory, String uri,
                               String decodedPath) throws IOException {
        if (!decodedPath.endsWith("/")) {
            // Relative links in the listing only work from a path ending with '/'.
            int q = uri.indexOf('?');
            String location = (q < 0 ? uri : uri.substring(0, q)) + '/' + (q < 0 ? "" : uri.substring(q));
            HttpResponse response = statusResponse(ctx, HttpResponseStatus.MOVED_PERMANENTLY);
            response.headers().set(HttpHeaderNames.LOCATION, location);
            send(ctx, exchange, response);
            return;
        }
        sendText(ctx, exchange, HttpResponseStatus.OK, DirectoryListing.render(directory, decodedPath),
                "text/html; charset=utf-8");
    }

    /** {@code kept}: the whole file as the open-file cache keeps it (the body is a slice of it), or null. */
    private void sendFile(ChannelHandlerContext ctx, Exchange exchange, HttpRequest request, Path path,
                          BasicFileAttributes attributes, KtlsFileRegion kept) throws IOException {
        long fileLength = attributes.size();
        long modifiedMillis = attributes.lastModifiedTime().toMillis();
        String etag = '"' + Long.toHexString(fileLength) + '-' + Long.toHexString(modifiedMillis) + '"';
        Date lastModified = new Date(modifiedMillis / 1000 * 1000); // HTTP dates have whole seconds
        HttpHeaders requestHeaders = request.headers();

        if (isNotModified(requestHeaders, etag, lastModified)) {
            HttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.NOT_MODIFIED, ctx.alloc().buffer(0));
            response.headers().set(HttpHeaderNames.ETAG, etag)
                    .set(HttpHeaderNames.LAST_MODIFIED, DateFormatter.format(lastModified));
            send(ctx, exchange, response);
            return;
        }

        ByteRange range = ByteRange.parse(requestHeaders.get(HttpHeaderNames.RANGE), fileLength);
        if (range.kind() != ByteRange.Kind.WHOLE
                && !ifRangeMatches(requestHeaders.get(HttpHeaderNames.IF_RANGE), etag, lastModified)) {
            range = ByteRange.parse(null, fileLength);
        }
        if (range.kind() == ByteRange.Kind.UNSATISFIABLE) {
            HttpResponse response = statusResponse(ctx, HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE);
            response.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + fileLength);
            send(ctx, exchange, response);
            return;
        }
        boolean partial = range.kind() == ByteRange.Kind.PARTIAL;
        long offset = partial ? range.first() : 0;
        long count = partial ? range.length() : fileLength;

        // Opened before anything is written, so that a file gone or replaced since its attributes were read is
        // answered by a status of its own, never by headers that disagree with the body.
        Object body = null;
        if (!exchange.head && count > 0) {
            body = kept != null ? kept.retainedSlice(offset, count)
                    : mode.writesFileRegions() ? KtlsFileRegion.open(path, attributes, offset, count)
                                            : new HttpChunkedInput(new ChunkedNioFile(
                                                    FileChannel.open(path, StandardOpenOption.READ), offset, count,
                                                    CHUNK_BYTES));
        }
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
                partial ? HttpResponseStatus.PARTIAL_CONTENT : HttpResponseStatus.OK);
        HttpHeaders headers = response.headers();
        headers.set(HttpHeaderNames.CONTENT_LENGTH, count)
                .set(HttpHeaderNames.CONTENT_TYPE, MediaTypes.of(path.getFileName().toString()))
                .set(HttpHeaderNames.LAST_MODIFIED, DateFormatter.format(lastModified))
                .set(HttpHeaderNames.ETAG, etag)
                .set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES)
                .set(HttpHeaderNames.DATE, DateFormatter.format(new Date()));
        if (partial) {
            headers.set(HttpHeaderNames.CONTENT_RANGE,
                    "bytes " + range.first() + '-' + range.last() + '/' + fileLength);
        }
        HttpUtil.setKeepAlive(response, exchange.keepAlive);

        counters.responsesInFlight.increment();
        ctx.write(response);
        ChannelFuture last;
        if (body == null) {
            last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } else if (body instanceof KtlsFileRegion) {
            ctx.write(body);
            last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            last = ctx.writeAndFlush(body);
        }
        long bodyBytes = body == null ? 0 : count;
        int status = response.status().code();
        last.addListener((ChannelFutureListener) future -> {
            counters.responsesInFlight.decrement();
            if (future.isSuccess()) {
                counters.fileBytesSent.add(bodyBytes);
                accessLog.log(future.channel().remoteAddress(), exchange.requestLine, status, bodyBytes,
                        exchange.startNanos);
            } else {
                counters.responsesFailed.increment();
                accessLog.log(future.channel().remoteAddress(), exchange.requestLine, status, 0,
                        exchange.startNanos);
                future.channel().close();
            }
        });
        if (!exchange.keepAlive) {
            last.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** RFC 9110 section 13.2.2: If-None-Match wins; If-Modified-Since is only read without it. */
    static boolean isNotModified(HttpHeaders headers, String etag, Date lastModified) {
        String ifNoneMatch = headers.get(HttpHeaderNames.IF_NONE_MATCH);
        if (ifNoneMatch != null) {
            for (String tag : ifNoneMatch.split(",")) {
                String t = tag.trim();
                if (t.equals("*") || weakTag(t).equals(weakTag(etag))) {
                    return true;
                }
            }
            return false;
        }
        String ifModifiedSince = headers.get(HttpHeaderNames.IF_MODIFIED_SINCE);
        if (ifModifiedSince != null) {
            Date since = DateFormatter.parseHttpDate(ifModifiedSince);
            return since != null && lastModified.getTime() <= since.getTime();
        }
        return false;
    }

    /** If-Range (RFC 9110 section 13.1.5): a strong entity tag or the exact Last-Modified date. */
    static boolean ifRangeMatches(String ifRange, String etag, Date lastModified) {
        if (ifRange == null) {
            return true;
        }
        String value = ifRange.trim();
        if (value.startsWith("\"") || value.startsWith("W/")) {
            return value.equals(etag);
        }
        Date date = DateFormatter.parseHttpDate(value);
        return date != null && date.getTime() == lastModified.getTime();
    }

    private static String weakTag(String tag) {
        return tag.startsWith("W/") ? tag.substring(2) : tag;
    }

    private void sendStatus(ChannelHandlerContext ctx, Exchange exchange, HttpResponseStatus status) {
        send(ctx, exchange, statusResponse(ctx, status));
    }

    private static FullHttpResponse statusResponse(ChannelHandlerContext ctx, HttpResponseStatus status) {
        ByteBuf body = ByteBufUtil.writeUtf8(ctx.alloc(), status + "\n");
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return response;
    }

    private void sendText(ChannelHandlerContext ctx, Exchange exchange, HttpResponseStatus status, String text,
                          String contentType) {
        ByteBuf body = ByteBufUtil.writeUtf8(ctx.alloc(), text);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        send(ctx, exchange, response);
    }

    /** Sends a response whose body (if any) is in memory; closes afterwards unless kept alive. */
    private void send(ChannelHandlerContext ctx, Exchange exchange, HttpResponse response) {
        int status = response.status().code();
        boolean keepAlive = exchange.keepAlive && status != 400;
        HttpUtil.setKeepAlive(response, keepAlive);
        long bodyBytes = exchange.head || !(response instanceof FullHttpResponse)
                ? 0 : ((FullHttpResponse) response).content().readableBytes();
        ChannelFuture future = ctx.writeAndFlush(response);
        future.addListener((ChannelFutureListener) f -> accessLog.log(f.channel().remoteAddress(),
                exchange.requestLine, status, bodyBytes, exchange.startNanos));
        if (!keepAlive) {
            future.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        System.err.println("connection " + ctx.channel().remoteAddress() + " closed: " + root);
        ctx.close();
    }
}
