package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.Tls12KeyBlock;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.X509Bundle;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@link KtlsHandler} server in an {@link EmbeddedChannel}, handshaken with a JDK {@code SslHandler} client in
 * another; then the test plays the client itself with the keys from the server's key-log file, so it can send
 * any record (bad tags, odd types, KeyUpdate) and decrypt whatever the server sends (data, alerts).
 * {@link #handshakeAsServer} turns the roles round: the handler is a TLS 1.2 client and the test plays the
 * server. Names below follow the default roles: "client" is the test's side, "server" the handler's.
 */
final class TlsTestPeer implements AutoCloseable {

    /** What reached the handler after KtlsHandler. */
    static final class Events extends ChannelInboundHandlerAdapter {
        final List<Throwable> exceptions = new ArrayList<>();
        final List<Object> userEvents = new ArrayList<>();
        final ByteBuf received = Unpooled.buffer();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            received.writeBytes(buf);
            buf.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            userEvents.add(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            exceptions.add(cause);
        }
    }

    /** A record the server sent, opened with the server's write key. */
    static final class Record {
        final byte type;
        final byte[] payload;
        final int wireLength;

        Record(byte type, byte[] payload, int wireLength) {
            this.type = type;
            this.payload = payload;
            this.wireLength = wireLength;
        }
    }

    final TlsCipherSuite suite;
    final KtlsHandler handler;
    final Events events = new Events();
    /** The handler's channel (a TLS client's when {@link #handlerIsClient}). */
    final EmbeddedChannel server;
    private final boolean handlerIsClient;
    private final Path keyLog;
    private TrafficKeys clientKeys;
    private TrafficKeys serverKeys;
    private RecordCipher clientWrite;
    private RecordCipher serverWrite;
    long clientSequence;
    long serverSequence;
    private final ByteBuf fromServer = Unpooled.buffer();
    /** Plaintext the JDK client decrypted while the handshake ran (data written before it). */
    final ByteBuf receivedByClientSslHandler = Unpooled.buffer();

    private TlsTestPeer(TlsCipherSuite suite, KtlsConfig.Builder config, Consumer<KtlsHandler> tune) throws Exception {
        this(suite, config, tune, false);
    }

    private TlsTestPeer(TlsCipherSuite suite, KtlsConfig.Builder config, Consumer<KtlsHandler> tune,
                        boolean handlerIsClient) throws Exception {
        this.suite = suite;
        this.handlerIsClient = handlerIsClient;
        this.keyLog = Files.createTempFile("ktls-test-keylog", ".txt");
        KtlsConfig built = config.keyLogFile(keyLog).build();
        handler = handlerIsClient
                ? new KtlsHandler(TestTls.get().client(SslProvider.OPENSSL, suite), "localhost", 443, built)
                : new KtlsHandler(TestTls.get().server(suite), built);
        tune.accept(handler);
        server = new EmbeddedChannel(handler, events);
    }

    /**
     * A {@link KtlsHandler} client handshaken with a JDK server; the test then plays the server. TLS 1.2 only:
     * a TLS 1.3 server sends tickets after the handshake, which would move the handler's read sequence.
     */
    static TlsTestPeer handshakeAsServer(TlsCipherSuite suite) throws Exception {
        if (suite.isTls13()) {
            throw new IllegalArgumentException("suite: " + suite + " (expected: a TLS 1.2 suite)");
        }
        TlsTestPeer peer = new TlsTestPeer(suite, KtlsConfig.builder(), h -> { }, true);
        peer.runHandshake();
        return peer;
    }

    private SslHandler jdkPeer() throws Exception {
        if (!handlerIsClient) {
            return TestTls.get().client(SslProvider.JDK, suite).newHandler(server.alloc(), "localhost", 443);
        }
        X509Bundle cert = suite.name().contains("_RSA_") ? TestTls.get().rsa : TestTls.get().ecdsa;
        return SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath())
                .sslProvider(SslProvider.JDK).protocols(TlsCipherSuite.TLS12).ciphers(List.of(suite.javaName()))
                .build().newHandler(server.alloc());
    }

    static TlsTestPeer handshake(TlsCipherSuite suite) throws Exception {
        return handshake(suite, KtlsConfig.builder(), h -> { });
    }

    static TlsTestPeer handshake(TlsCipherSuite suite, KtlsConfig.Builder config) throws Exception {
        return handshake(suite, config, h -> { });
    }

    static TlsTestPeer handshake(TlsCipherSuite suite, KtlsConfig.Builder config, Consumer<KtlsHandler> tune)
            throws Exception {
        TlsTestPeer peer = new TlsTestPeer(suite, config, tune);
        peer.runHandshake();
        return peer;
    }

    /** Like {@link #handshake(TlsCipherSuite)}, with a write made before the handshake started. */
    static TlsTestPeer handshakeWithEarlyWrite(TlsCipherSuite suite, byte[] early,
                                               io.netty.channel.ChannelFuture[] future) throws Exception {
        TlsTestPeer peer = new TlsTestPeer(suite, KtlsConfig.builder(), h -> { });
        future[0] = peer.server.writeAndFlush(Unpooled.wrappedBuffer(early));
        peer.runHandshake();
        return peer;
    }

    private void runHandshake() throws Exception {
        SslHandler clientSsl = jdkPeer();
        EmbeddedChannel client = new EmbeddedChannel(clientSsl);
        byte[] jdkRandom = null;
        byte[] handlerRandom = null;
        try {
            for (int round = 0; round < 50; round++) {
                boolean moved = false;
                ByteBuf b;
                while ((b = client.readOutbound()) != null) {
                    if (jdkRandom == null) {
                        jdkRandom = ByteBufUtilCopy.copy(b, 11, 32);
                    }
                    server.writeInbound(b);
                    moved = true;
                }
                while ((b = server.readOutbound()) != null) {
                    if (handlerRandom == null) {
                        handlerRandom = ByteBufUtilCopy.copy(b, 11, 32);
                    }
                    client.writeInbound(b);
                    moved = true;
                }
                if (!moved && clientSsl.handshakeFuture().isDone() && handler.handshakeFuture().isDone()) {
                    break;
                }
            }
            assertTrue(clientSsl.handshakeFuture().isSuccess(), "client handshake: " + clientSsl.handshakeFuture());
            assertTrue(handler.handshakeFuture().isSuccess(), "server handshake: " + handler.handshakeFuture());
            assertTrue(handler.isRecordLayerActive(), "record layer active");
        } finally {
            Object m;
            while ((m = client.readInbound()) != null) {
                receivedByClientSslHandler.writeBytes((ByteBuf) m);
                io.netty.util.ReferenceCountUtil.release(m);
            }
            client.finishAndReleaseAll();
        }
        List<String> lines = Files.readAllLines(keyLog, StandardCharsets.US_ASCII);
        if (suite.isTls13()) {
            clientKeys = TrafficKeys.tls13(suite, secret(lines, "CLIENT_TRAFFIC_SECRET_0"));
            serverKeys = TrafficKeys.tls13(suite, secret(lines, "SERVER_TRAFFIC_SECRET_0"));
            clientWrite = RecordCipher.create(clientKeys);
            serverWrite = RecordCipher.create(serverKeys);
            clientSequence = 0;
        } else {
            byte[] clientRandom = handlerIsClient ? handlerRandom : jdkRandom;
            byte[] serverRandom = handlerIsClient ? jdkRandom : handlerRandom;
            try (Tls12KeyBlock block = Tls12KeyBlock.derive(suite, secret(lines, "CLIENT_RANDOM"), clientRandom,
                    serverRandom)) {
                // "client" is the test's side: the JDK peer's keys, whichever role it played.
                clientWrite = RecordCipher.create(handlerIsClient ? block.serverWrite() : block.clientWrite());
                serverWrite = RecordCipher.create(handlerIsClient ? block.clientWrite() : block.serverWrite());
            }
            clientSequence = 1;
        }
        serverSequence = handler.writeSequence();
    }

    private static byte[] secret(List<String> lines, String label) {
        for (String line : lines) {
            if (line.startsWith(label + ' ')) {
                return HexFormat.of().parseHex(line.substring(line.lastIndexOf(' ') + 1).trim());
            }
        }
        throw new AssertionError("no " + label + " in the key log: " + lines.size() + " lines");
    }

    /** A record from the client with the next client sequence number. */
    ByteBuf seal(byte type, byte[] payload) {
        ByteBuffer out = ByteBuffer.allocate(clientWrite.recordLength(payload.length));
        clientWrite.sealRecord(clientSequence++, type, ByteBuffer.wrap(payload), out);
        out.flip();
        return Unpooled.wrappedBuffer(out);
    }

    /** Feeds raw bytes to the server. */
    void send(ByteBuf bytes) {
        server.writeInbound(bytes);
        server.runPendingTasks();
    }

    void sendRecord(byte type, byte[] payload) {
        send(seal(type, payload));
    }

    /** Every complete record the server has sent so far, opened in order. */
    List<Record> receive() throws Exception {
        server.runPendingTasks();
        ByteBuf b;
        while ((b = server.readOutbound()) != null) {
            fromServer.writeBytes(b);
            b.release();
        }
        List<Record> records = new ArrayList<>();
        while (fromServer.readableBytes() >= 5) {
            int length = 5 + fromServer.getUnsignedShort(fromServer.readerIndex() + 3);
            if (fromServer.readableBytes() < length) {
                break;
            }
            ByteBuffer record = ByteBuffer.allocate(length);
            fromServer.readBytes(record);
            record.flip();
            ByteBuffer plain = ByteBuffer.allocate(serverWrite.maxOpenedLength(length - 5));
            byte type = serverWrite.open(serverSequence++, record, plain);
            plain.flip();
            byte[] payload = new byte[plain.remaining()];
            plain.get(payload);
            records.add(new Record(type, payload, length));
            if (type == TlsRecords.HANDSHAKE && payload.length == 5 && payload[0] == TlsRecords.KEY_UPDATE) {
                TrafficKeys next = serverKeys.nextGeneration();
                serverKeys.close();
                serverKeys = next;
                serverWrite.close();
                serverWrite = RecordCipher.create(next);
                serverSequence = 0;
            }
        }
        fromServer.discardReadBytes();
        return records;
    }

    /** Switches our (client) write key to the next generation, after sending a KeyUpdate ourselves. */
    void updateClientKeys() {
        TrafficKeys next = clientKeys.nextGeneration();
        clientKeys.close();
        clientKeys = next;
        clientWrite.close();
        clientWrite = RecordCipher.create(next);
        clientSequence = 0;
    }

    /** The single alert the server sent (decrypted), as {level, description}. */
    byte[] onlyAlert() throws Exception {
        byte[] alert = null;
        for (Record r : receive()) {
            if (r.type == TlsRecords.ALERT) {
                alert = r.payload;
            }
        }
        assertNotNull(alert, "an alert from the server");
        return alert;
    }

    /** Runs after the server channel was asked to close (e.g. a test sealer completing what it still holds). */
    Runnable onClose;

    @Override
    public void close() throws Exception {
        server.close();
        if (onClose != null) {
            onClose.run();
        }
        server.runPendingTasks();
        server.finishAndReleaseAll();
        events.received.release();
        fromServer.release();
        receivedByClientSslHandler.release();
        if (clientWrite != null) {
            clientWrite.close();
            serverWrite.close();
        }
        if (clientKeys != null) {
            clientKeys.close();
            serverKeys.close();
        }
        Files.deleteIfExists(keyLog);
    }

    /** Copies bytes out of a buffer without moving its indices. */
    static final class ByteBufUtilCopy {
        static byte[] copy(ByteBuf b, int offset, int length) {
            byte[] out = new byte[length];
            b.getBytes(b.readerIndex() + offset, out);
            return out;
        }
    }
}
