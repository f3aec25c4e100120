package io.ktls.handler;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.Tls12KeyBlock;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the read side after the handshake ({@link RecordReader}, {@link InboundRecordLayer}) with the write
 * side answering ({@link OutboundRecordLayer}), both TLS versions, real keys.
 *
 * <p>The fuzz input plays the peer: it decides the suite, our role, whether the peer reads what we send, and a
 * sequence of records, most sealed with the peer's real write key at the right sequence number (so the input
 * gets past the AEAD and reaches the message parsers; a sealed KeyUpdate moves the peer to its next key), some
 * raw bytes or corrupted records; then the byte stream is cut at points the input chooses. Each execution
 * checks that:
 * <ul>
 *   <li>nothing is thrown but a {@link TlsRecordException} (the alert to send);</li>
 *   <li>every buffer allocated (by the layers or for the input) is released once the connection is closed;</li>
 *   <li>what we send back is bounded (item 2 of the rules in {@link InboundRecordLayer}): towards a peer that
 *       reads nothing, at most one KeyUpdate, one no_renegotiation and one final alert; towards one that reads,
 *       at most 33 answers per run of application data, plus a final alert.</li>
 * </ul>
 * The wiring of the listener mirrors {@code KtlsHandler.InboundEvents}; a handshake per execution would cost
 * milliseconds, so the layers are built directly from fixed secrets.
 *
 * <p>Without {@code JAZZER_FUZZ} the inputs under {@code src/test/resources/io/ktls/handler/RecordLayerFuzzTestInputs}
 * run as regression tests; {@code JAZZER_FUZZ=1} fuzzes (docs/record-layer.md, "Fuzzing").
 */
class RecordLayerFuzzTest {

    private static final TlsCipherSuite[] SUITES = {
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    };
    private static final byte[] CONTENT_TYPES = {
        TlsRecords.APPLICATION_DATA, TlsRecords.HANDSHAKE, TlsRecords.ALERT, TlsRecords.CHANGE_CIPHER_SPEC, 24, 0, 99,
    };
    private static final int MAX_RECORDS_IN_FLIGHT = 4;
    /** Bounds the work of one execution: inputs past this many records or bytes are cut. */
    private static final int MAX_RECORDS = 96;
    private static final int MAX_WIRE_BYTES = 1 << 18;

    static {
        if (System.getenv("JAZZER_FUZZ") != null) {
            // Fuzzing: the tracking allocator checks every buffer of every execution itself; the paranoid leak
            // detector (a stack trace per allocation) would cost most of each execution. Regression runs keep it.
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void inboundRecords(FuzzedDataProvider data) {
        TlsCipherSuite suite = data.pickValue(SUITES);
        boolean server = data.consumeBoolean();
        boolean peerReads = data.consumeBoolean();
        try (Connection connection = new Connection(suite, server, peerReads)) {
            ByteBuf wire = connection.alloc.heapBuffer();
            try {
                int records = 0;
                while (data.remainingBytes() > 0 && records < MAX_RECORDS && wire.readableBytes() < MAX_WIRE_BYTES) {
                    records++;
                    switch (data.consumeInt(0, 6)) {
                        case 0:
                            connection.peer.seal(wire, data.pickValue(CONTENT_TYPES),
                                    data.consumeBytes(data.consumeInt(0, 700)));
                            break;
                        case 1:
                            postHandshakeMessage(connection, wire, data);
                            break;
                        case 2:
                            connection.peer.seal(wire, TlsRecords.ALERT, data.consumeBytes(data.consumeInt(0, 3)));
                            break;
                        case 3:
                            wire.writeBytes(data.consumeBytes(data.consumeInt(0, 64)));
                            break;
                        case 4: {
                            int start = wire.writerIndex();
                            connection.peer.seal(wire, data.pickValue(CONTENT_TYPES),
                                    data.consumeBytes(data.consumeInt(0, 64)));
                            int at = start + data.consumeInt(0, wire.writerIndex() - start - 1);
                            wire.setByte(at, wire.getByte(at) ^ (1 << data.consumeInt(0, 7)));
                            break;
                        }
                        case 5:
                            packedMessages(connection, wire, data);
                            break;
                        default:
                            connection.peer.seal(wire, TlsRecords.APPLICATION_DATA, new byte[0]);
                            break;
                    }
                }
                connection.receive(wire, data);
            } finally {
                wire.release();
            }
        }
    }

    /**
     * The post-handshake message parser on its own: the input is a stream of handshake messages (types and
     * lengths as it likes), cut into handshake records at points it chooses, every record sealed correctly.
     */
    @FuzzTest(maxDuration = "5m")
    void postHandshakeMessages(FuzzedDataProvider data) {
        TlsCipherSuite suite = data.pickValue(SUITES);
        boolean server = data.consumeBoolean();
        boolean peerReads = data.consumeBoolean();
        try (Connection connection = new Connection(suite, server, peerReads)) {
            ByteBuf wire = connection.alloc.heapBuffer();
            try {
                int records = 0;
                while (data.remainingBytes() > 0 && records++ < MAX_RECORDS) {
                    if (data.consumeInt(0, 7) == 0) {
                        connection.peer.seal(wire, TlsRecords.APPLICATION_DATA,
                                data.consumeBytes(data.consumeInt(0, 16)));
                    } else {
                        byte[] fragment = data.consumeBytes(data.consumeInt(0, 300));
                        connection.peer.sealHandshake(wire, fragment);
                    }
                }
                connection.receive(wire, data);
            } finally {
                wire.release();
            }
        }
    }

    /** One whole post-handshake message of a type the layer knows, sealed in a record of its own. */
    private static void postHandshakeMessage(Connection connection, ByteBuf wire, FuzzedDataProvider data) {
        byte type = data.pickValue(new byte[] {TlsRecords.KEY_UPDATE, TlsRecords.HELLO_REQUEST,
            TlsRecords.CLIENT_HELLO, TlsRecords.NEW_SESSION_TICKET});
        byte[] body = type == TlsRecords.KEY_UPDATE ? new byte[] {(byte) data.consumeInt(0, 2)}
                : type == TlsRecords.HELLO_REQUEST ? new byte[0] : data.consumeBytes(data.consumeInt(0, 40));
        connection.peer.sealHandshake(wire, message(type, body));
    }

    /** Many small messages in one record: HelloRequests or KeyUpdates, as a flood. */
    private static void packedMessages(Connection connection, ByteBuf wire, FuzzedDataProvider data) {
        byte[] one = data.consumeBoolean() ? message(TlsRecords.HELLO_REQUEST, new byte[0])
                : message(TlsRecords.KEY_UPDATE, new byte[] {1});
        int count = data.consumeInt(1, 16384 / one.length);
        byte[] packed = new byte[count * one.length];
        for (int i = 0; i < count; i++) {
            System.arraycopy(one, 0, packed, i * one.length, one.length);
        }
        connection.peer.sealHandshake(wire, packed);
    }

    private static byte[] message(byte type, byte[] body) {
        byte[] m = new byte[4 + body.length];
        m[0] = type;
        m[1] = (byte) (body.length >>> 16);
        m[2] = (byte) (body.length >>> 8);
        m[3] = (byte) body.length;
        System.arraycopy(body, 0, m, 4, body.length);
        return m;
    }

    /**
     * Our side of one connection: an {@link EmbeddedChannel} whose handler holds an {@link InboundRecordLayer}
     * and an {@link OutboundRecordLayer} made from fixed secrets, and the peer's write side with the same keys.
     */
    static final class Connection implements AutoCloseable {
        final TrackingAllocator alloc = new TrackingAllocator();
        final TlsCipherSuite suite;
        final Peer peer;
        final EmbeddedChannel channel;
        final HeldWrites held;
        final Layers layers;
        int recordsSent;

        Connection(TlsCipherSuite suite, boolean server, boolean peerReads) {
            this.suite = suite;
            if (suite.isTls13()) {
                TrafficKeys peerKeys = TrafficKeys.tls13(suite, secret(suite, 1));
                peer = new Peer(suite, RecordCipher.create(peerKeys), peerKeys, 0);
                // The peer writes with secret 1, we with secret 2, whichever side we play.
                byte[] theirs = secret(suite, 1);
                byte[] ours = secret(suite, 2);
                layers = new Layers(server, ConnectionKeys.tls13(suite, server, server ? theirs : ours,
                        server ? ours : theirs, AeadProviders.preferred(suite)), alloc, 0);
            } else {
                byte[] random = new byte[32];
                try (Tls12KeyBlock block = Tls12KeyBlock.derive(suite, new byte[48], random, random)) {
                    TrafficKeys peerWrite = server ? block.clientWrite() : block.serverWrite();
                    // TLS 1.2 records start at 1 (Finished was 0).
                    peer = new Peer(suite, RecordCipher.create(peerWrite), null, 1);
                    layers = new Layers(server, ConnectionKeys.tls12(suite, server, new byte[48], random, random,
                            AeadProviders.preferred(suite)), alloc, 1);
                }
            }
            held = peerReads ? null : new HeldWrites();
            channel = new EmbeddedChannel();
            channel.config().setAllocator(alloc);
            if (held != null) {
                channel.pipeline().addLast(held);
            }
            channel.pipeline().addLast(layers);
        }

        private static byte[] secret(TlsCipherSuite suite, int fill) {
            byte[] secret = new byte[suite.name().endsWith("SHA384") ? 48 : 32];
            Arrays.fill(secret, (byte) fill);
            return secret;
        }

        /** Feeds {@code wire} cut at points {@code data} chooses; checks the bound on what we sent back. */
        void receive(ByteBuf wire, FuzzedDataProvider data) {
            while (wire.isReadable() && !layers.ended) {
                int n = data.remainingBytes() == 0 ? wire.readableBytes()
                        : data.consumeInt(1, Math.min(wire.readableBytes(), 20000));
                ByteBuf piece = alloc.heapBuffer(n);
                wire.readBytes(piece, n);
                layers.received(piece);
                countSent();
            }
            countSent();
            int answersBound = held != null ? 3
                    : (InboundRecordLayer.MAX_CONSECUTIVE_POST_HANDSHAKE_MESSAGES + 1) * (layers.dataRuns + 1) + 1;
            int sent = held != null ? held.writes : recordsSent;
            assertTrue(sent <= answersBound, "records sent: " + sent + " (bound: " + answersBound + ")");
        }

        private void countSent() {
            Object m;
            while ((m = channel.readOutbound()) != null) {
                recordsSent++;
                ReferenceCountUtil.release(m);
            }
        }

        @Override
        public void close() {
            layers.close();
            channel.finishAndReleaseAll();
            if (held != null) {
                held.releaseAll();
            }
            peer.close();
            alloc.assertAllReleased();
        }
    }

    /** The peer's write side: seals records with the key we read with, at the sequence number we expect. */
    static final class Peer implements AutoCloseable {
        private final TlsCipherSuite suite;
        private RecordCipher cipher;
        private TrafficKeys keys;
        private long sequence;
        /** Handshake bytes sealed so far and not yet a whole message (to follow KeyUpdates). */
        private byte[] pendingHandshake = new byte[0];

        Peer(TlsCipherSuite suite, RecordCipher cipher, TrafficKeys keys, long sequence) {
            this.suite = suite;
            this.cipher = cipher;
            this.keys = keys;
            this.sequence = sequence;
        }

        void seal(ByteBuf wire, byte type, byte[] payload) {
            if (payload.length > RecordCipher.MAX_PAYLOAD_LENGTH) {
                payload = Arrays.copyOf(payload, RecordCipher.MAX_PAYLOAD_LENGTH);
            }
            if (!suite.isTls13() && type == 0) {
                type = TlsRecords.APPLICATION_DATA; // TLS 1.2 has no content type 0 to put in the header
            }
            ByteBuffer out = ByteBuffer.allocate(cipher.recordLength(payload.length));
            cipher.sealRecord(sequence++, type, ByteBuffer.wrap(payload), out);
            out.flip();
            wire.writeBytes(out);
        }

        /**
         * A handshake record; when it ends exactly with a whole KeyUpdate, the peer moves to its next key (as
         * the reader does; a KeyUpdate elsewhere is refused by the reader, so keys stay).
         */
        void sealHandshake(ByteBuf wire, byte[] fragment) {
            seal(wire, TlsRecords.HANDSHAKE, fragment);
            byte[] all = Arrays.copyOf(pendingHandshake, pendingHandshake.length + fragment.length);
            System.arraycopy(fragment, 0, all, pendingHandshake.length, fragment.length);
            int at = 0;
            boolean endsWithKeyUpdate = false;
            while (all.length - at >= 4) {
                int length = ((all[at + 1] & 0xFF) << 16) | ((all[at + 2] & 0xFF) << 8) | (all[at + 3] & 0xFF);
                if (all.length - at - 4 < length) {
                    break;
                }
                endsWithKeyUpdate = all[at] == TlsRecords.KEY_UPDATE && length == 1 && (all[at + 4] & 0xFF) <= 1;
                at += 4 + length;
            }
            pendingHandshake = Arrays.copyOfRange(all, at, all.length);
            if (endsWithKeyUpdate && at == all.length && keys != null) {
                TrafficKeys next = keys.nextGeneration();
                keys.close();
                keys = next;
                cipher.close();
                cipher = RecordCipher.create(next);
                sequence = 0;
            }
        }

        @Override
        public void close() {
            cipher.close();
            if (keys != null) {
                keys.close();
            }
        }
    }

    /** Both layers of one connection, wired as {@code KtlsHandler} wires them. */
    static final class Layers extends ChannelDuplexHandler {
        private final boolean server;
        private final ConnectionKeys keys;
        private final TrackingAllocator alloc;
        private final long sequence;
        private ChannelHandlerContext ctx;
        InboundRecordLayer inbound;
        OutboundRecordLayer outbound;
        boolean ended;
        int dataRuns;

        Layers(boolean server, ConnectionKeys keys, TrackingAllocator alloc, long sequence) {
            this.server = server;
            this.keys = keys;
            this.alloc = alloc;
            this.sequence = sequence;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            KtlsConfig config = KtlsConfig.builder().maxRecordsInFlight(MAX_RECORDS_IN_FLIGHT).build();
            inbound = new InboundRecordLayer(keys, server, sequence, alloc, KtlsStats.GLOBAL, new Events(ctx));
            outbound = new OutboundRecordLayer(ctx, keys, sequence, config, new OutboundRecordLayer.Listener() {
                @Override
                public void recordLayerFailed(Throwable cause) {
                    ended = true;
                }

                @Override
                public void writeFailed(Throwable cause) {
                    ended = true;
                }
            });
        }

        void received(ByteBuf bytes) {
            inbound.add(bytes);
            try {
                inbound.process();
            } catch (TlsRecordException e) {
                // The documented failure: the alert goes out after what is framed, and the connection ends.
                ended = true;
                inbound.stop();
                outbound.fatalAlert(e.alertDescription(), e, ctx.newPromise());
            }
        }

        void close() {
            if (inbound != null) {
                inbound.close();
                outbound.close();
            }
            keys.close();
        }

        /** Mirrors {@code KtlsHandler.InboundEvents}. */
        private final class Events implements InboundRecordLayer.Listener {
            private final ChannelHandlerContext ctx;

            Events(ChannelHandlerContext ctx) {
                this.ctx = ctx;
            }

            @Override
            public void applicationData(ByteBuf data) {
                dataRuns++;
                data.release();
            }

            @Override
            public void closeNotifyReceived() {
                ended = true;
                outbound.closeOutbound(ctx.newPromise());
            }

            @Override
            public void fatalAlertReceived(int description) {
                ended = true;
                outbound.fail(new javax.net.ssl.SSLException("received fatal alert " + description));
            }

            @Override
            public void keyUpdateRequested() {
                outbound.keyUpdate(false);
            }

            @Override
            public void renegotiationRefused() {
                outbound.warningAlert(TlsRecords.NO_RENEGOTIATION);
            }
        }
    }

    /** In front of the layers when the peer reads nothing: holds every record, never completes its write. */
    static final class HeldWrites extends ChannelOutboundHandlerAdapter {
        private final List<Object> held = new ArrayList<>();
        int writes;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            writes++;
            held.add(msg);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
        }

        void releaseAll() {
            held.forEach(ReferenceCountUtil::release);
            held.clear();
        }
    }

    /**
     * Unpooled buffers, each remembered, so an execution can check that every one was released (the leak
     * detector only reports on garbage collection, too late and too slow for a fuzzer).
     */
    static final class TrackingAllocator extends AbstractByteBufAllocator {
        private final List<ByteBuf> allocated = new ArrayList<>();

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf buf = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            allocated.add(buf);
            return buf;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf buf = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
            allocated.add(buf);
            return buf;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        void assertAllReleased() {
            int live = 0;
            for (ByteBuf buf : allocated) {
                if (buf.refCnt() != 0) {
                    live++;
                }
            }
            assertEquals(0, live, live + " of " + allocated.size() + " buffers not released");
        }
    }
}
