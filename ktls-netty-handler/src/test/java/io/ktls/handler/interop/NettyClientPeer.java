package io.ktls.handler.interop;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Netty's own {@code SslHandler} as the client, with the OpenSSL (BoringSSL) or the JDK provider, against
 * the raw application. Beyond the bytes it checks that the client saw the negotiated suite and received
 * the server's close_notify ({@link io.netty.handler.ssl.SslCloseCompletionEvent#SUCCESS}) before the
 * connection ended.
 */
final class NettyClientPeer implements InteropPeer {

    private final SslProvider provider;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Map<CipherCase, SslContext> contexts = new EnumMap<>(CipherCase.class);

    NettyClientPeer(SslProvider provider) {
        this.provider = provider;
    }

    @Override
    public String name() {
        return "Netty SslHandler client (" + provider + ")";
    }

    @Override
    public InteropServer.Application application() {
        return InteropServer.Application.RAW;
    }

    @Override
    public boolean supports(CipherCase cipher) {
        return provider != SslProvider.OPENSSL || !cipher.isTls13() || cipher == CipherCase.TLS13_AES_128_GCM;
    }

    private SslContext context(CipherCase cipher) throws Exception {
        SslContext context = contexts.get(cipher);
        if (context == null) {
            context = SslContextBuilder.forClient()
                    .sslProvider(provider)
                    .protocols(cipher.protocol())
                    .ciphers(List.of(cipher.javaName()))
                    .trustManager(InteropPki.get().ca().getCertificate())
                    .endpointIdentificationAlgorithm("HTTPS")
                    .build();
            contexts.put(cipher, context);
        }
        return context;
    }

    /** What the client saw of one connection, completed when the connection is closed. */
    private record Outcome(String protocol, String cipherSuite, ReceivedBytes received, boolean closeNotifyReceived,
                           Throwable failure) {
    }

    @Override
    public void transfer(int port, TransferCase transfer) throws Exception {
        SslContext context = context(transfer.cipher());
        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        Channel channel = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(context.newHandler(ch.alloc(), InteropPki.HOST, port));
                        ch.pipeline().addLast(new ChunkedWriteHandler());
                        ch.pipeline().addLast(new ClientHandler(transfer, outcome));
                    }
                })
                .connect(InteropPki.HOST, port).sync().channel();
        Outcome result;
        try {
            result = outcome.get(CommandLinePeer.timeout(transfer.size()).toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            channel.close();
        }
        assertNull(result.failure(), () -> "client failure: " + result.failure());
        assertEquals(transfer.cipher().protocol(), result.protocol(), "protocol the client negotiated");
        assertEquals(transfer.cipher().javaName(), result.cipherSuite(), "suite the client negotiated");
        assertTrue(result.closeNotifyReceived(), "the client received the server's close_notify");
        if (transfer.isDownload()) {
            assertEquals(transfer.size(), result.received().count(), "bytes received");
            assertEquals(Payload.sha256Hex(transfer.size()), result.received().sha256Hex(),
                    "SHA-256 of the bytes received");
        } else {
            assertEquals(Payload.sha256Hex(transfer.size()) + "\n", result.received().head(),
                    "the server's SHA-256 of the upload");
        }
    }

    private static final class ClientHandler extends TransferClientHandler {
        private final TransferCase transfer;
        private final CompletableFuture<Outcome> outcome;
        private String protocol;
        private String cipherSuite;

        ClientHandler(TransferCase transfer, CompletableFuture<Outcome> outcome) {
            this.transfer = transfer;
            this.outcome = outcome;
        }

        @Override
        void handshakeSucceeded(ChannelHandlerContext ctx) {
            var session = ctx.pipeline().get(SslHandler.class).engine().getSession();
            protocol = session.getProtocol();
            cipherSuite = session.getCipherSuite();
            ctx.write(Unpooled.copiedBuffer(transfer.rawCommand(), StandardCharsets.US_ASCII));
            if (!transfer.isDownload()) {
                ctx.write(Payload.newChunkedInput(transfer.size()));
            }
            ctx.flush();
        }

        @Override
        void closed() {
            outcome.complete(new Outcome(protocol, cipherSuite, received, closeNotifyReceived, failure));
        }
    }

    @Override
    public void close() throws Exception {
        group.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).sync();
        contexts.values().forEach(ReferenceCountUtil::release);
    }
}
