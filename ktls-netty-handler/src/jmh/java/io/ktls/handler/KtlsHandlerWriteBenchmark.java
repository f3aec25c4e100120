package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The whole write path of {@link KtlsHandler} for one 16 KiB record after a real handshake, against the bare
 * seal it wraps, in one run:
 * <ul>
 *   <li>{@code handlerWrite}: {@code writeAndFlush} of a 16 KiB buffer on an {@code EmbeddedChannel}: pending
 *       write, framing, inline sealing into header | body | trailer, ready prefix, composite output handed to
 *       the transport (then released). {@code memory=direct} writes a buffer we own outright (sealed in place),
 *       {@code heap} a wrapped array (sealed into a fresh 16 KiB body);</li>
 *   <li>{@code rawSeal}: the baseline, {@link RecordCipher#seal} of the same payload into preallocated direct
 *       buffers, with the same provider;</li>
 *   <li>{@code sslHandlerWrite}: Netty's {@code SslHandler} (BoringSSL engine) writing the same 16 KiB buffer
 *       after a real handshake, the record layer this module replaces.</li>
 * </ul>
 * A good result: {@code handlerWrite} within 10% of {@code rawSeal} (the framing overhead target); the
 * {@code SslHandler} baseline for the same record is {@code RecordSealBenchmark.sslHandlerWrap}. Throughput in
 * records per second; GB/s = ops/s x 16384 / 1e9.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
public class KtlsHandlerWriteBenchmark {

    private static final int PAYLOAD_BYTES = 16384;

    @Param({"TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"})
    public String suite;

    @Param({"direct", "heap"})
    public String memory;

    private TlsTestPeer peer;
    private byte[] template;
    private RecordCipher rawCipher;
    private TrafficKeys rawKeys;
    private ByteBuffer rawHeader;
    private ByteBuffer rawBody;
    private ByteBuffer rawTrailer;
    private ByteBuffer rawPayload;
    private long rawSequence;
    private io.netty.channel.embedded.EmbeddedChannel sslServer;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        TlsCipherSuite tlsSuite = TlsCipherSuite.valueOf(suite);
        // One 16 KiB write is one record, as rawSeal and SslHandler make it (the handler's default payload is 22
        // bytes shorter, so that a full record is 16 KiB on the wire).
        peer = TlsTestPeer.handshake(tlsSuite,
                KtlsConfig.builder().maxRecordPayloadBytes(KtlsConfig.MAX_RECORD_PAYLOAD_BYTES));
        template = new byte[PAYLOAD_BYTES];
        new Random(1).nextBytes(template);
        byte[] secret = new byte[tlsSuite.hashLength()];
        rawKeys = TrafficKeys.tls13(tlsSuite, secret);
        rawCipher = RecordCipher.create(rawKeys);
        rawHeader = ByteBuffer.allocateDirect(rawCipher.headerLength());
        rawBody = ByteBuffer.allocateDirect(PAYLOAD_BYTES);
        rawTrailer = ByteBuffer.allocateDirect(rawCipher.trailerLength(PAYLOAD_BYTES));
        rawPayload = ByteBuffer.allocateDirect(PAYLOAD_BYTES);
        rawPayload.put(template).flip();
        sslServer = new io.netty.channel.embedded.EmbeddedChannel(TestTls.get().server(tlsSuite)
                .newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT));
        io.netty.channel.embedded.EmbeddedChannel sslClient = new io.netty.channel.embedded.EmbeddedChannel(
                TestTls.get().client(io.netty.handler.ssl.SslProvider.OPENSSL, tlsSuite)
                        .newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT, "localhost", 443));
        for (int round = 0; round < 20; round++) {
            Object msg;
            while ((msg = sslClient.readOutbound()) != null) {
                sslServer.writeInbound(msg);
            }
            while ((msg = sslServer.readOutbound()) != null) {
                sslClient.writeInbound(msg);
            }
        }
        sslClient.finishAndReleaseAll();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        peer.close();
        sslServer.finishAndReleaseAll();
        rawCipher.close();
        rawKeys.close();
    }

    @Benchmark
    public void handlerWrite(Blackhole bh) {
        ByteBuf payload = "direct".equals(memory)
                ? peer.server.alloc().directBuffer(PAYLOAD_BYTES).writeBytes(template)
                : Unpooled.wrappedBuffer(template);
        peer.server.writeAndFlush(payload);
        Object record;
        while ((record = peer.server.readOutbound()) != null) {
            bh.consume(((ByteBuf) record).readableBytes());
            ReferenceCountUtil.release(record);
        }
    }

    @Benchmark
    public void sslHandlerWrite(Blackhole bh) {
        ByteBuf payload = "direct".equals(memory)
                ? sslServer.alloc().directBuffer(PAYLOAD_BYTES).writeBytes(template)
                : Unpooled.wrappedBuffer(template);
        sslServer.writeAndFlush(payload);
        Object record;
        while ((record = sslServer.readOutbound()) != null) {
            bh.consume(((ByteBuf) record).readableBytes());
            ReferenceCountUtil.release(record);
        }
    }

    @Benchmark
    public void rawSeal(Blackhole bh) {
        rawHeader.clear();
        rawBody.clear();
        rawTrailer.clear();
        rawPayload.position(0);
        rawCipher.seal(rawSequence++, TlsRecords.APPLICATION_DATA, rawPayload, rawHeader, rawBody, rawTrailer);
        bh.consume(rawBody.position());
    }
}
