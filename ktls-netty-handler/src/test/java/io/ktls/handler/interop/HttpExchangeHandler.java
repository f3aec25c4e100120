package io.ktls.handler.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.FileRegion;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedInput;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * The minimal HTTP/1.1 application for HTTP peers (curl, wget, the JDK's HttpClient):
 * <ul>
 *   <li>{@code GET /bytes/<n>} answers {@code n} payload bytes with a {@code Content-Length};</li>
 *   <li>{@code GET /file/<n>} answers the same bytes from a file ({@link ServerUnderTest#fileBody});</li>
 *   <li>{@code GET /bytes/<n>?close} answers them without a length, delimited by the end of the connection
 *       as HTTP/1.1 allows: the client must read on to the close_notify to know the body is complete, and
 *       OpenSSL 3 clients report a TCP close without one as an error;</li>
 *   <li>{@code PUT} or {@code POST /sha256} with a body (fixed length or chunked) answers the hex SHA-256 of
 *       the body as received, and a newline.</li>
 * </ul>
 * Keep-alive follows the request; a request with {@code Connection: close} makes the server close with
 * close_notify after the response.
 */
final class HttpExchangeHandler extends SimpleChannelInboundHandler<HttpObject> {

    private static final String BYTES_PATH = "/bytes/";
    private static final String FILE_PATH = "/file/";
    private static final String SHA256_PATH = "/sha256";
    private static final String CLOSE_DELIMITED = "?close";

    private final ServerUnderTest serverUnderTest;
    private final Consumer<Exchange> exchanges;
    private String request;
    private TlsState tls;
    private boolean keepAlive;
    private ReceivedBytes upload;
    /** Between a response and the next request: failures then (a keep-alive peer leaving) are no exchange. */
    private boolean idle;

    HttpExchangeHandler(ServerUnderTest serverUnderTest, Consumer<Exchange> exchanges) {
        this.serverUnderTest = serverUnderTest;
        this.exchanges = exchanges;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) throws IOException {
        if (msg instanceof HttpRequest req) {
            if (!req.decoderResult().isSuccess()) {
                throw new IllegalStateException("bad request", req.decoderResult().cause());
            }
            idle = false;
            request = req.method() + " " + req.uri();
            tls = serverUnderTest.tlsState(ctx.pipeline());
            keepAlive = HttpUtil.isKeepAlive(req);
            if (req.method().equals(HttpMethod.GET) && req.uri().startsWith(BYTES_PATH)) {
                String size = req.uri().substring(BYTES_PATH.length());
                boolean closeDelimited = size.endsWith(CLOSE_DELIMITED);
                if (closeDelimited) {
                    size = size.substring(0, size.length() - CLOSE_DELIMITED.length());
                    keepAlive = false;
                }
                download(ctx, Long.parseLong(size), closeDelimited);
            } else if (req.method().equals(HttpMethod.GET) && req.uri().startsWith(FILE_PATH)) {
                fileDownload(ctx, Long.parseLong(req.uri().substring(FILE_PATH.length())));
            } else if ((req.method().equals(HttpMethod.PUT) || req.method().equals(HttpMethod.POST))
                    && req.uri().equals(SHA256_PATH)) {
                upload = new ReceivedBytes();
            } else {
                FullHttpResponse notFound = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        HttpResponseStatus.NOT_FOUND);
                notFound.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
                finish(ctx, ctx.writeAndFlush(notFound), -1, null);
            }
        }
        if (msg instanceof HttpContent content && upload != null) {
            upload.update(content.content());
            if (msg instanceof LastHttpContent) {
                ReceivedBytes received = upload;
                upload = null;
                String sha256 = received.sha256Hex();
                ByteBuf body = Unpooled.copiedBuffer(sha256 + "\n", StandardCharsets.US_ASCII);
                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        HttpResponseStatus.OK, body);
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
                response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
                finish(ctx, ctx.writeAndFlush(response), received.count(), sha256);
            }
        }
    }

    private void download(ChannelHandlerContext ctx, long size, boolean closeDelimited) {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
        if (closeDelimited) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else {
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, size);
        }
        ctx.write(response);
        finish(ctx, ctx.writeAndFlush(new HttpChunkedInput(Payload.newChunkedInput(size))), size, null);
    }

    private void fileDownload(ChannelHandlerContext ctx, long size) throws IOException {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, size);
        ctx.write(response);
        Object body = serverUnderTest.fileBody(PayloadFiles.get(size), size);
        if (body instanceof FileRegion) {
            ctx.write(body);
            finish(ctx, ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), size, null);
        } else {
            @SuppressWarnings("unchecked")
            ChunkedInput<ByteBuf> chunks = (ChunkedInput<ByteBuf>) body;
            finish(ctx, ctx.writeAndFlush(new HttpChunkedInput(chunks)), size, null);
        }
    }

    private void finish(ChannelHandlerContext ctx, io.netty.channel.ChannelFuture written, long payloadBytes,
                        String sha256) {
        String request = this.request;
        TlsState tls = this.tls;
        boolean keepAlive = this.keepAlive;
        idle = true;
        written.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                exchanges.accept(Exchange.failed(request, tls, f.cause()));
                ctx.close();
            } else if (keepAlive) {
                exchanges.accept(new Exchange(request, tls, payloadBytes, sha256, null));
            } else {
                ctx.close().addListener((ChannelFutureListener) closed -> exchanges.accept(closed.isSuccess()
                        ? new Exchange(request, tls, payloadBytes, sha256, null)
                        : Exchange.failed(request, tls, closed.cause())));
            }
        });
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (upload != null) {
            upload = null;
            exchanges.accept(Exchange.failed(request, tls,
                    new IllegalStateException("connection closed in the middle of a request body")));
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!idle) {
            idle = true;
            exchanges.accept(Exchange.failed(request, tls, cause));
        }
        ctx.close();
    }
}
