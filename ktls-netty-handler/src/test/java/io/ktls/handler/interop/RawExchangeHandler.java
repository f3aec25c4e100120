package io.ktls.handler.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslCloseCompletionEvent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * The raw-stream application for peers without HTTP (openssl s_client, gnutls-cli, Netty's SslHandler
 * client). A connection carries one command line, then payload:
 * <ul>
 *   <li>{@code GET <n>\n}: the server sends {@code n} payload bytes, then closes with close_notify;</li>
 *   <li>{@code FILE <n>\n}: the same bytes, sent from a file ({@link ServerUnderTest#fileBody});</li>
 *   <li>{@code PUT <n>\n} followed by {@code n} payload bytes: the server answers with the hex SHA-256 of the
 *       bytes it received and a newline, then closes with close_notify.</li>
 * </ul>
 * The peer learns everything from the stream itself, so a tool that only pipes stdin and stdout can drive it.
 */
final class RawExchangeHandler extends ChannelInboundHandlerAdapter {

    private static final int MAX_COMMAND_CHARS = 64;
    /** The failure reported for a connection that ended without a complete exchange. */
    static final String INCOMPLETE = "connection closed before the exchange completed";
    static final String AFTER_CLOSE_NOTIFY = " (after the peer's close_notify)";

    private final ServerUnderTest serverUnderTest;
    private final Consumer<Exchange> exchanges;
    private final Consumer<Exchange> lateFailures;
    private final StringBuilder command = new StringBuilder();
    private String request;
    private TlsState tls;
    private ReceivedBytes upload;
    private long uploadRemaining;
    /** No more input is expected: a command is being answered, or the connection ended. */
    private boolean finished;
    /** The exchange was reported; any failure after that is a late failure. */
    private boolean reported;
    private boolean closeNotifyReceived;

    /**
     * @param exchanges    receives the one exchange of the connection
     * @param lateFailures receives failures raised after it, such as an exception after a clean close
     */
    RawExchangeHandler(ServerUnderTest serverUnderTest, Consumer<Exchange> exchanges,
                       Consumer<Exchange> lateFailures) {
        this.serverUnderTest = serverUnderTest;
        this.exchanges = exchanges;
        this.lateFailures = lateFailures;
    }

    private void report(Exchange exchange) {
        if (!reported) {
            reported = true;
            exchanges.accept(exchange);
        } else if (exchange.failure() != null) {
            lateFailures.accept(exchange);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws IOException {
        ByteBuf in = (ByteBuf) msg;
        try {
            while (in.isReadable() && !finished) {
                if (request == null) {
                    readCommand(ctx, in);
                } else if (upload != null) {
                    int n = (int) Math.min(uploadRemaining, in.readableBytes());
                    upload.update(in.readSlice(n));
                    uploadRemaining -= n;
                    if (uploadRemaining == 0) {
                        finishUpload(ctx);
                    }
                } else {
                    throw new IllegalStateException("unexpected bytes after " + request);
                }
            }
        } finally {
            in.release();
        }
    }

    private void readCommand(ChannelHandlerContext ctx, ByteBuf in) throws IOException {
        while (in.isReadable()) {
            char c = (char) in.readByte();
            if (c != '\n') {
                if (command.length() == MAX_COMMAND_CHARS) {
                    throw new IllegalStateException("command line too long: " + command);
                }
                command.append(c);
                continue;
            }
            request = command.toString().trim();
            tls = serverUnderTest.tlsState(ctx.pipeline());
            String[] words = request.split(" ");
            if (words.length != 2) {
                throw new IllegalStateException("malformed command: " + request);
            }
            long size = Long.parseLong(words[1]);
            switch (words[0]) {
                case "GET" -> startDownload(ctx, Payload.newChunkedInput(size), size);
                case "FILE" -> startDownload(ctx, serverUnderTest.fileBody(PayloadFiles.get(size), size), size);
                case "PUT" -> {
                    upload = new ReceivedBytes();
                    uploadRemaining = size;
                    if (size == 0) {
                        finishUpload(ctx);
                    }
                }
                default -> throw new IllegalStateException("unknown command: " + request);
            }
            return;
        }
    }

    private void startDownload(ChannelHandlerContext ctx, Object body, long size) {
        finished = true;
        ctx.writeAndFlush(body).addListener((ChannelFutureListener) written -> {
            if (!written.isSuccess()) {
                report(Exchange.failed(request, tls, written.cause()));
                ctx.close();
                return;
            }
            ctx.close().addListener((ChannelFutureListener) closed -> report(closed.isSuccess()
                    ? new Exchange(request, tls, size, null, null)
                    : Exchange.failed(request, tls, closed.cause())));
        });
    }

    private void finishUpload(ChannelHandlerContext ctx) {
        finished = true;
        long received = upload.count();
        String sha256 = upload.sha256Hex();
        ByteBuf answer = Unpooled.copiedBuffer(sha256 + "\n", StandardCharsets.US_ASCII);
        ctx.writeAndFlush(answer).addListener((ChannelFutureListener) written -> {
            if (!written.isSuccess()) {
                report(Exchange.failed(request, tls, written.cause()));
                ctx.close();
                return;
            }
            ctx.close().addListener((ChannelFutureListener) closed -> report(closed.isSuccess()
                    ? new Exchange(request, tls, received, sha256, null)
                    : Exchange.failed(request, tls, closed.cause())));
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
            closeNotifyReceived = true;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!finished) {
            finished = true;
            report(Exchange.failed(request, tls, new IllegalStateException(INCOMPLETE
                    + (closeNotifyReceived ? AFTER_CLOSE_NOTIFY : " (without the peer's close_notify)")
                    + (upload != null ? " (" + uploadRemaining + " upload bytes missing)" : ""))));
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        finished = true;
        report(Exchange.failed(request, tls, cause));
        ctx.close();
    }
}
