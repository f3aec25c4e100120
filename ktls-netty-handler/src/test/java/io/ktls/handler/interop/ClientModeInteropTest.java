package io.ktls.handler.interop;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The handler in client mode against real servers, which here choose the suite (a BoringSSL client cannot
 * be restricted to one TLS 1.3 suite, a server can):
 * openssl s_server, one process per transfer ({@code -naccept 1}). A download is a payload file served by
 * {@code -WWW} (an HTTP/1.0 answer, then close_notify); an upload is what s_server writes to its standard
 * output, up to the client's close_notify. Every suite x {1, 16385, 1 MiB + 7} bytes each way; the client
 * asserts the negotiated suite, that the record layer took over, the digest, and for downloads the
 * server's close_notify.
 */
class ClientModeInteropTest extends InteropTestBase {

    private static final List<Long> SIZES = List.of(1L, 16385L, (1L << 20) + 7);
    private static final Duration LISTEN_TIMEOUT = Duration.ofSeconds(30);

    private final OpenSslClientPeer openSsl = peer(new OpenSslClientPeer());
    private final EventLoopGroup clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Map<CipherCase, SslContext> clientContexts = new EnumMap<>(CipherCase.class);

    /** Which way the payload goes, seen from the client under test. */
    private enum Transfer { DOWNLOAD, UPLOAD }

    private Stream<DynamicTest> clientTransfers(ServerUnderTest client) {
        String openSslServer = openSsl.executable();
        List<DynamicTest> tests = new ArrayList<>();
        for (CipherCase cipher : CipherCase.values()) {
            for (long size : SIZES) {
                for (Transfer transfer : List.of(Transfer.DOWNLOAD, Transfer.UPLOAD)) {
                    String name = "openssl s_server | " + client + " client | " + cipher + " | "
                            + transfer.name().toLowerCase(java.util.Locale.ROOT) + " " + Payload.label(size);
                    tests.add(DynamicTest.dynamicTest(name, () -> named(name,
                            () -> withOpenSslServer(openSslServer, client, cipher, transfer, size))));
                }
            }
        }
        return tests.stream();
    }

    private void withOpenSslServer(String executable, ServerUnderTest client, CipherCase cipher, Transfer transfer,
                                   long size) throws Exception {
        InteropPki pki = InteropPki.get();
        int port = ListeningPorts.freePort();
        List<String> command = new ArrayList<>(List.of(executable, "s_server",
                "-accept", InteropPki.HOST + ":" + port, "-naccept", "1", "-quiet",
                "-cert", pki.serverChainPemFile(cipher.certificate()).toString(),
                "-key", pki.serverKeyPemFile(cipher.certificate()).toString()));
        command.addAll(cipher.openSslClientArguments());
        java.io.File directory = null;
        if (transfer == Transfer.DOWNLOAD) {
            // -WWW serves files from the working directory to "GET /<file> HTTP/1.0", then closes.
            command.add("-WWW");
            directory = PayloadFiles.get(size).getParent().toFile();
        }
        ExternalProcess.Running server = ExternalProcess.start(command, new ExternalProcess.Stdin(new byte[0], 0, false),
                directory);
        ListeningPorts.awaitListening(port, LISTEN_TIMEOUT, server);
        Outcome outcome;
        try {
            outcome = connect(client, cipher, port, transfer, size);
        } catch (Throwable t) {
            server.kill();
            throw t;
        }
        ExternalProcess.Result result = server.finish(CommandLinePeer.timeout(size));
        assertClientSide(outcome, client, cipher, () -> result.describe());
        if (transfer == Transfer.DOWNLOAD) {
            assertEquals(size, outcome.received().count(), () -> "bytes received\n" + result.describe());
            assertEquals(Payload.sha256Hex(size), outcome.received().sha256Hex(), "SHA-256 of the bytes received");
            assertTrue(outcome.closeNotifyReceived(), "the client received s_server's close_notify");
        } else {
            CommandLinePeer.assertReceivedPayload(result, new TransferCase(client, cipher,
                    TransferCase.Direction.UPLOAD, size));
        }
    }

    private static void assertClientSide(Outcome outcome, ServerUnderTest client, CipherCase cipher,
                                         java.util.function.Supplier<String> server) {
        if (outcome.failure() != null) {
            fail("client failure\n" + server.get(), outcome.failure());
        }
        assertTrue(outcome.tls() != null, "the handshake completed");
        assertEquals(cipher.protocol(), outcome.tls().protocol(), "protocol the client negotiated");
        assertEquals(cipher.javaName(), outcome.tls().cipherSuite(), "suite the client negotiated");
        if (client.takesOverRecordLayer()) {
            assertTrue(outcome.tls().recordLayerActive(), "the record layer took over from SslHandler");
        }
    }

    private SslContext clientContext(CipherCase cipher) throws Exception {
        SslContext context = clientContexts.get(cipher);
        if (context == null) {
            context = SslContextBuilder.forClient()
                    .sslProvider(SslProvider.OPENSSL)
                    .protocols("TLSv1.3", "TLSv1.2")
                    .ciphers(CipherCase.allJavaNames())
                    .trustManager(InteropPki.get().ca().getCertificate())
                    .endpointIdentificationAlgorithm("HTTPS")
                    .build();
            clientContexts.put(cipher, context);
        }
        return context;
    }

    /** What the client under test saw of one connection. */
    private record Outcome(TlsState tls, ReceivedBytes received, boolean closeNotifyReceived, Throwable failure) {
    }

    private Outcome connect(ServerUnderTest client, CipherCase cipher, int port, Transfer transfer, long size)
            throws Exception {
        SslContext context = clientContext(cipher);
        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        Channel channel = new Bootstrap()
                .group(clientGroup)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(client.newClientTlsHandler(context, ch, InteropPki.HOST, port, fixture));
                        ch.pipeline().addLast(new ChunkedWriteHandler());
                        ch.pipeline().addLast(new ClientDriver(client, transfer, size, outcome));
                    }
                })
                .connect(InteropPki.HOST, port).sync().channel();
        try {
            return outcome.get(CommandLinePeer.timeout(size).toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            channel.close();
        }
    }

    /** Drives one transfer from the client's event loop and completes the outcome when the channel closes. */
    private static final class ClientDriver extends TransferClientHandler {
        private final ServerUnderTest client;
        private final Transfer transfer;
        private final long size;
        private final CompletableFuture<Outcome> outcome;
        private TlsState tls;
        private boolean closing;
        private final StringBuilder header = new StringBuilder();
        private boolean headerSkipped;

        ClientDriver(ServerUnderTest client, Transfer transfer, long size, CompletableFuture<Outcome> outcome) {
            this.client = client;
            this.transfer = transfer;
            this.size = size;
            this.outcome = outcome;
        }

        @Override
        void handshakeSucceeded(ChannelHandlerContext ctx) {
            tls = client.tlsState(ctx.pipeline());
            if (transfer == Transfer.UPLOAD) {
                ctx.writeAndFlush(Payload.newChunkedInput(size))
                        .addListener((ChannelFutureListener) f -> closeOutbound(ctx));
            } else {
                ctx.writeAndFlush(Unpooled.copiedBuffer("GET /" + PayloadFiles.name(size)
                        + " HTTP/1.0\r\n\r\n", StandardCharsets.US_ASCII));
            }
        }

        private void closeOutbound(ChannelHandlerContext ctx) {
            if (!closing) {
                closing = true;
                client.closeOutbound(ctx.pipeline());
            }
        }

        @Override
        void read(ByteBuf buf) {
            // Skip the HTTP/1.0 header of a download; the body is the payload.
            while (transfer == Transfer.DOWNLOAD && !headerSkipped && buf.isReadable()) {
                header.append((char) buf.readByte());
                headerSkipped = header.toString().endsWith("\r\n\r\n");
            }
            received.update(buf);
        }

        @Override
        void closed() {
            outcome.complete(new Outcome(tls, received, closeNotifyReceived, failure));
        }
    }

    @AfterAll
    void closeClients() throws InterruptedException {
        clientGroup.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).sync();
        clientContexts.values().forEach(ReferenceCountUtil::release);
    }

    @TestFactory
    Stream<DynamicTest> sslHandlerBaseline() {
        return clientTransfers(ServerUnderTest.SSL_HANDLER);
    }

    @TestFactory
    Stream<DynamicTest> ktlsInline() {
        return clientTransfers(ServerUnderTest.KTLS_INLINE);
    }

    @TestFactory
    Stream<DynamicTest> ktlsOffload() {
        return clientTransfers(ServerUnderTest.KTLS_OFFLOAD);
    }
}
