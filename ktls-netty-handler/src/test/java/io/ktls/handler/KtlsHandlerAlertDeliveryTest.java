package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.allocator.PageRunAllocatorMetric;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A scripted TLS 1.3 client over a real socket misbehaves right after its Finished (in the same TCP write), and
 * must see, in order, whatever the mode (inline sealing or an offload group) and whether or not the application
 * closes the channel on the error: the session tickets written at the takeover, the data the server wrote during
 * the handshake (framed at the takeover), the specific fatal alert, then an orderly EOF (not a reset). Nothing leaks: every page run the server allocated is back.
 *
 * <p>The client's handshake runs in a JDK {@code SslHandler} in an {@link EmbeddedChannel} whose bytes the test
 * carries over the socket; the application keys come from the server's key log, so the test can seal any record
 * as the client and open everything the server sends after the handshake.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KtlsHandlerAlertDeliveryTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final long READ_TIMEOUT_MILLIS = 10_000;
    /** RFC 8446 section 6: illegal_parameter(47), which {@link TlsRecords} does not name. */
    private static final byte ILLEGAL_PARAMETER = 47;
    private static final byte[] EARLY_DATA = "written before the handshake".getBytes(StandardCharsets.US_ASCII);

    private static KtlsOffloadGroup offloadGroup;
    private static PageRunAllocator allocator;

    @TempDir
    Path dir;

    enum Mode { INLINE, OFFLOAD }

    /** What the client sends right after its Finished, and the alert it calls for. */
    enum Misbehaviour {
        FORGED_RECORD(TlsRecords.BAD_RECORD_MAC) {
            @Override
            byte[] bytes(Sealer client) {
                byte[] record = new byte[5 + 100];
                record[0] = TlsRecords.APPLICATION_DATA;
                record[1] = 3;
                record[2] = 3;
                record[4] = 100;
                for (int i = 5; i < record.length; i++) {
                    record[i] = (byte) (i * 31);
                }
                return record;
            }
        },
        OVERSIZED_RECORD(TlsRecords.RECORD_OVERFLOW) {
            @Override
            byte[] bytes(Sealer client) {
                int length = 16384 + 257; // one more than TLS 1.3 allows (RFC 8446 section 5.2)
                byte[] record = new byte[5 + length];
                record[0] = TlsRecords.APPLICATION_DATA;
                record[1] = 3;
                record[2] = 3;
                record[3] = (byte) (length >>> 8);
                record[4] = (byte) length;
                return record;
            }
        },
        BAD_KEY_UPDATE_REQUEST(ILLEGAL_PARAMETER) {
            @Override
            byte[] bytes(Sealer client) {
                return client.seal(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 2});
            }
        },
        DATA_INSIDE_A_FRAGMENTED_KEY_UPDATE(TlsRecords.UNEXPECTED_MESSAGE) {
            @Override
            byte[] bytes(Sealer client) {
                byte[] first = client.seal(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0});
                byte[] second = client.seal(TlsRecords.APPLICATION_DATA, new byte[] {8});
                byte[] both = new byte[first.length + second.length];
                System.arraycopy(first, 0, both, 0, first.length);
                System.arraycopy(second, 0, both, first.length, second.length);
                return both;
            }
        };

        final byte alert;

        Misbehaviour(byte alert) {
            this.alert = alert;
        }

        abstract byte[] bytes(Sealer client);
    }

    /** Seals records as the client, with consecutive sequence numbers. */
    interface Sealer {
        byte[] seal(byte type, byte[] payload);
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Mode mode : Mode.values()) {
            for (Misbehaviour misbehaviour : Misbehaviour.values()) {
                for (boolean applicationCloses : new boolean[] {false, true}) {
                    cases.add(Arguments.of(mode, misbehaviour, applicationCloses));
                }
            }
        }
        return cases.stream();
    }

    @BeforeAll
    static void startGroupAndAllocator() {
        offloadGroup = new KtlsOffloadGroup(1);
        allocator = PageRunAllocator.builder().name("alert-delivery").build();
    }

    @AfterAll
    static void stopGroupAndAllocator() {
        offloadGroup.close();
        allocator.close();
    }

    @ParameterizedTest(name = "{0} {1}, application closes on error: {2}")
    @MethodSource("cases")
    void ticketsThenTheFatalAlertThenEof(Mode mode, Misbehaviour misbehaviour, boolean applicationCloses)
            throws Exception {
        Path keyLog = Files.createTempFile(dir, "keylog", ".txt");
        KtlsConfig.Builder config = KtlsConfig.builder().keyLogFile(keyLog);
        if (mode == Mode.OFFLOAD) {
            config.offloadGroup(offloadGroup);
        }
        KtlsConfig built = config.build();
        io.netty.handler.ssl.SslContext serverContext = TestTls.get().server(SUITE);
        List<Throwable> serverErrors = new CopyOnWriteArrayList<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                ch.config().setAllocator(allocator);
                ch.pipeline().addLast(new KtlsHandler(serverContext, built),
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                // Queued during the handshake, framed at the takeover (on the worker if offloaded).
                                ctx.writeAndFlush(io.netty.buffer.Unpooled.copiedBuffer(EARLY_DATA));
                                ctx.fireChannelActive();
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ReferenceCountUtil.release(msg);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                serverErrors.add(cause);
                                if (applicationCloses) {
                                    ctx.close();
                                }
                            }
                        });
            });
            Received received;
            try (ScriptedClient client = new ScriptedClient(loopback.port())) {
                client.handshake();
                client.sendFinishedWith(misbehaviour.bytes(client.sealer(keyLog)));
                received = client.readToTheEnd();
            }
            assertNull(received.failure, () -> "the stream ended in error after " + received.describe()
                    + ": " + received.failure);
            assertTrue(received.records.size() >= 3, () -> "tickets, data and an alert: " + received.describe());
            int dataIndex = received.records.size() - 2;
            for (int i = 0; i < dataIndex; i++) {
                byte[] payload = received.records.get(i).payload;
                assertEquals(TlsRecords.HANDSHAKE, received.records.get(i).type, received.describe());
                assertEquals(TlsRecords.NEW_SESSION_TICKET, payload[0], received.describe());
            }
            assertEquals(TlsRecords.APPLICATION_DATA, received.records.get(dataIndex).type, received.describe());
            assertArrayEquals(EARLY_DATA, received.records.get(dataIndex).payload, "the data framed at the takeover");
            int alertIndex = dataIndex + 1;
            assertEquals(TlsRecords.ALERT, received.records.get(alertIndex).type, received.describe());
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, misbehaviour.alert},
                    received.records.get(alertIndex).payload, received.describe());
            assertTrue(received.eof, received.describe());
            assertEquals(0, received.trailingBytes, "nothing after the alert");
        }
        // The event loops have ended: everything the server did after closing the socket is done too.
        assertFalse(serverErrors.isEmpty(), "the server reported the error");
        assertAllRunsBack();
    }

    /**
     * The alert cannot be written to a peer that stopped reading (the socket is full of earlier records): the
     * close the application asks for in {@code exceptionCaught} waits for it no longer than the close_notify
     * flush timeout, in both modes.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Mode.class)
    void aPeerThatStopsReadingIsClosedAtTheFlushTimeout(Mode mode) throws Exception {
        long timeoutMillis = 500;
        Path keyLog = Files.createTempFile(dir, "keylog", ".txt");
        KtlsConfig.Builder config = KtlsConfig.builder().keyLogFile(keyLog).closeNotifyFlushTimeoutMillis(timeoutMillis);
        if (mode == Mode.OFFLOAD) {
            config.offloadGroup(offloadGroup);
        }
        KtlsConfig built = config.build();
        io.netty.handler.ssl.SslContext serverContext = TestTls.get().server(SUITE);
        CompletableFuture<io.netty.channel.Channel> serverChannel = new CompletableFuture<>();
        AtomicLong errorNanos = new AtomicLong();
        CompletableFuture<Long> closedNanos = new CompletableFuture<>();
        ByteBuf chunk = io.netty.buffer.Unpooled.directBuffer(1 << 20).writeZero(1 << 20);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                ch.config().setAllocator(allocator);
                ch.closeFuture().addListener(f -> closedNanos.complete(System.nanoTime()));
                serverChannel.complete(ch);
                ch.pipeline().addLast(new KtlsHandler(serverContext, built), new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg);
                        for (int i = 0; i < 64; i++) { // 64 MiB: far more than the socket buffers hold
                            ctx.write(chunk.retainedDuplicate());
                        }
                        ctx.flush();
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        errorNanos.compareAndSet(0, System.nanoTime());
                        ctx.close();
                    }
                });
            });
            try (ScriptedClient client = new ScriptedClient(loopback.port())) {
                client.handshake();
                Sealer sealer = client.sealer(keyLog);
                client.sendFinishedWith(sealer.seal(TlsRecords.APPLICATION_DATA, new byte[] {'G'}));
                awaitSocketFull(serverChannel.get(10, TimeUnit.SECONDS));
                client.send(Misbehaviour.FORGED_RECORD.bytes(sealer));
                long closed = closedNanos.get(10, TimeUnit.SECONDS);
                long waitedMillis = TimeUnit.NANOSECONDS.toMillis(closed - errorNanos.get());
                assertTrue(errorNanos.get() != 0, "the server saw the forged record");
                assertTrue(waitedMillis >= timeoutMillis - 100 && waitedMillis < timeoutMillis + 2000,
                        "closed " + waitedMillis + " ms after the error (timeout " + timeoutMillis + " ms)");
            }
        } finally {
            chunk.release();
        }
        assertAllRunsBack();
    }

    /** Waits until records wait in the channel's outbound buffer: the socket takes no more. */
    private static void awaitSocketFull(io.netty.channel.Channel channel) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long pending = 0;
        while (System.nanoTime() < deadline) {
            pending = channel.eventLoop().submit(() -> {
                io.netty.channel.ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
                return buffer == null ? 0L : buffer.totalPendingWriteBytes();
            }).get();
            if (pending >= 256 * 1024) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the socket never filled up: " + pending + " bytes waiting");
    }

    private static void assertAllRunsBack() throws InterruptedException {
        PageRunAllocatorMetric metric = allocator.metric();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while ((metric.inFlightRuns() != 0 || metric.inFlightBytes() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, metric.inFlightRuns(), () -> "runs in flight (" + metric.inFlightBytes() + " bytes)");
    }

    /** What the client got after its Finished: the server's records, opened, and how the stream ended. */
    static final class Received {
        final List<TlsTestPeer.Record> records = new ArrayList<>();
        boolean eof;
        IOException failure;
        int trailingBytes;

        String describe() {
            StringBuilder s = new StringBuilder("[");
            for (TlsTestPeer.Record r : records) {
                s.append(r.type == TlsRecords.ALERT ? "alert " + HexFormat.of().formatHex(r.payload)
                        : r.type == TlsRecords.HANDSHAKE ? "handshake(" + r.payload[0] + ")"
                        : "type " + r.type + " (" + r.payload.length + " bytes)");
                s.append(", ");
            }
            return s.append(eof ? "EOF" : failure != null ? failure.toString() : "no end").append(']').toString();
        }
    }

    /** A TLS 1.3 client over a blocking socket: a JDK {@code SslHandler} handshakes, then the test scripts. */
    static final class ScriptedClient implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final EmbeddedChannel tls;
        private final SslHandler ssl;
        private RecordCipher clientWrite;
        private RecordCipher serverWrite;
        private TrafficKeys clientKeys;
        private TrafficKeys serverKeys;
        private long clientSequence;

        ScriptedClient(int port) throws Exception {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout((int) READ_TIMEOUT_MILLIS);
            in = socket.getInputStream();
            out = socket.getOutputStream();
            ssl = TestTls.get().client(SslProvider.JDK, SUITE).newHandler(io.netty.buffer.UnpooledByteBufAllocator
                    .DEFAULT, "localhost", 443);
            tls = new EmbeddedChannel(ssl);
        }

        /** Runs the handshake up to the client's Finished, which stays in the embedded channel's outbound. */
        void handshake() throws IOException {
            send(drainOutbound());
            byte[] buffer = new byte[16384];
            while (!ssl.handshakeFuture().isDone()) {
                int n = in.read(buffer);
                if (n < 0) {
                    throw new IOException("server closed during the handshake");
                }
                tls.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(buffer, 0, n));
                if (!ssl.handshakeFuture().isDone()) {
                    send(drainOutbound());
                }
            }
            assertTrue(ssl.handshakeFuture().isSuccess(), String.valueOf(ssl.handshakeFuture().cause()));
        }

        Sealer sealer(Path keyLog) throws IOException {
            List<String> lines = Files.readAllLines(keyLog, StandardCharsets.US_ASCII);
            clientKeys = TrafficKeys.tls13(SUITE, secret(lines, "CLIENT_TRAFFIC_SECRET_0"));
            serverKeys = TrafficKeys.tls13(SUITE, secret(lines, "SERVER_TRAFFIC_SECRET_0"));
            clientWrite = RecordCipher.create(clientKeys);
            serverWrite = RecordCipher.create(serverKeys);
            return (type, payload) -> {
                ByteBuffer record = ByteBuffer.allocate(clientWrite.recordLength(payload.length));
                clientWrite.sealRecord(clientSequence++, type, ByteBuffer.wrap(payload), record);
                return record.array();
            };
        }

        /** The client's last handshake flight and {@code script} in one TCP write. */
        void sendFinishedWith(byte[] script) throws IOException {
            byte[] finished = drainOutbound();
            byte[] both = new byte[finished.length + script.length];
            System.arraycopy(finished, 0, both, 0, finished.length);
            System.arraycopy(script, 0, both, finished.length, script.length);
            send(both);
        }

        /** Reads until EOF, a reset or the timeout; opens every complete record with the server's keys. */
        Received readToTheEnd() throws Exception {
            Received received = new Received();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            byte[] buffer = new byte[16384];
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    bytes.write(buffer, 0, n);
                }
                received.eof = true;
            } catch (SocketTimeoutException e) {
                received.failure = e;
            } catch (IOException e) {
                received.failure = e; // e.g. "Connection reset": the server closed with our bytes unread
            }
            ByteBuffer stream = ByteBuffer.wrap(bytes.toByteArray());
            long serverSequence = 0;
            while (stream.remaining() >= 5) {
                int length = 5 + (stream.getShort(stream.position() + 3) & 0xFFFF);
                if (stream.remaining() < length) {
                    break;
                }
                ByteBuffer record = stream.slice(stream.position(), length);
                stream.position(stream.position() + length);
                ByteBuffer plain = ByteBuffer.allocate(serverWrite.maxOpenedLength(length - 5));
                byte type = serverWrite.open(serverSequence++, record, plain);
                plain.flip();
                byte[] payload = new byte[plain.remaining()];
                plain.get(payload);
                received.records.add(new TlsTestPeer.Record(type, payload, length));
            }
            received.trailingBytes = stream.remaining();
            return received;
        }

        private byte[] drainOutbound() {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ByteBuf b;
            while ((b = tls.readOutbound()) != null) {
                byte[] chunk = new byte[b.readableBytes()];
                b.readBytes(chunk);
                b.release();
                bytes.writeBytes(chunk);
            }
            return bytes.toByteArray();
        }

        void send(byte[] bytes) throws IOException {
            if (bytes.length > 0) {
                out.write(bytes);
                out.flush();
            }
        }

        private static byte[] secret(List<String> lines, String label) {
            for (String line : lines) {
                if (line.startsWith(label + ' ')) {
                    return HexFormat.of().parseHex(line.substring(line.lastIndexOf(' ') + 1).trim());
                }
            }
            throw new AssertionError("no " + label + " in the key log: " + lines.size() + " lines");
        }

        @Override
        public void close() throws IOException {
            socket.close();
            tls.finishAndReleaseAll();
            if (clientWrite != null) {
                clientWrite.close();
                serverWrite.close();
                clientKeys.close();
                serverKeys.close();
            }
        }
    }
}
