package io.ktls.handler.benchmarks;

import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import org.openjdk.jmh.annotations.AuxCounters;
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

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Receiving a stream of sealed TLS 1.3 AES-128-GCM records through the server's record layer, as a socket would
 * deliver it: {@value #STREAM_BYTES} bytes of plaintext in 16 KiB records, the ciphertext cut into direct
 * {@code ByteBuf}s of {@value #READ_BYTES} bytes (so reads end in the middle of records, as they mostly do), each
 * passed as one {@code channelRead} + {@code channelReadComplete} to an {@link EmbeddedChannel}; the plaintext
 * that comes out is released. The client is Netty's {@code SslHandler} on BoringSSL; each operation gets a fresh
 * handshake (in the invocation setup, not measured), so the records are real ones.
 * <ul>
 *   <li>{@code receiver=ktls}: {@link KtlsHandler} after its takeover (records opened by the handler, with the
 *       preferred AEAD provider);</li>
 *   <li>{@code receiver=sslHandler}: the baseline, Netty's {@link SslHandler} with the BoringSSL engine unwrapping
 *       the same kind of stream.</li>
 * </ul>
 * A good result: {@code ktls} at least as fast as {@code sslHandler}, in CPU time too. Besides the wall-clock
 * time per stream, the {@code cpuNanos} / {@code streams} counters (events per iteration) give the receiving
 * thread's CPU time per stream, which the load of a shared machine does not distort: GB/s per CPU second =
 * {@value #STREAM_BYTES} x streams / cpuNanos.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Thread)
public class RecordOpenBenchmark {

    /** 4 MiB: 256 records, long enough that per-stream fixed costs vanish, short enough for a quick setup. */
    static final int STREAM_BYTES = 4 << 20;
    static final int RECORD_PAYLOAD_BYTES = 16384;
    /** A typical epoll read into a 64 KiB buffer; 65536 is no multiple of the 16406-byte record. */
    static final int READ_BYTES = 65536;

    @Param({"ktls", "sslHandler"})
    public String receiver;

    private X509Bundle certificate;
    private SslContext serverContext;
    private SslContext clientContext;
    private byte[] plaintext;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    private EmbeddedChannel server;
    private final List<ByteBuf> reads = new ArrayList<>();

    /** Receiving thread's CPU time, summed per iteration; divide by {@link #streams}. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class CpuCounters {
        public long cpuNanos;
        public long streams;

        @Setup(Level.Iteration)
        public void reset() {
            cpuNanos = 0;
            streams = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUpTrial() throws Exception {
        Instant now = Instant.now();
        certificate = new CertificateBuilder()
                .notBefore(now.minus(1, ChronoUnit.DAYS)).notAfter(now.plus(2, ChronoUnit.DAYS))
                .subject("CN=localhost").addSanDnsName("localhost").setIsCertificateAuthority(true).ecp256()
                .buildSelfSigned();
        serverContext = SslContextBuilder.forServer(certificate.getKeyPair().getPrivate(),
                        certificate.getCertificatePath())
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3").build();
        clientContext = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
                .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3").build();
        plaintext = new byte[RECORD_PAYLOAD_BYTES];
        new Random(42).nextBytes(plaintext);
    }

    @Setup(Level.Invocation)
    public void setUpStream() throws Exception {
        ChannelHandler serverHandler = "ktls".equals(receiver)
                ? new KtlsHandler(serverContext, KtlsConfig.builder().build())
                : serverContext.newHandler(alloc);
        server = new EmbeddedChannel(serverHandler);
        server.config().setAllocator(alloc);
        SslHandler clientSsl = clientContext.newHandler(alloc, "localhost", 443);
        EmbeddedChannel client = new EmbeddedChannel(clientSsl);
        client.config().setAllocator(alloc);
        Future<?> serverHandshake = serverHandler instanceof KtlsHandler
                ? ((KtlsHandler) serverHandler).handshakeFuture()
                : ((SslHandler) serverHandler).handshakeFuture();
        for (int i = 0; i < 100 && !(serverHandshake.isDone() && clientSsl.handshakeFuture().isDone()); i++) {
            shuttle(client, server);
            shuttle(server, client);
        }
        shuttle(server, client); // session tickets
        if (!serverHandshake.isSuccess() || !clientSsl.handshakeFuture().isSuccess()) {
            throw new IllegalStateException("handshake failed: " + serverHandshake.cause() + " / "
                                            + clientSsl.handshakeFuture().cause());
        }
        for (int sent = 0; sent < STREAM_BYTES; sent += RECORD_PAYLOAD_BYTES) {
            client.write(alloc.directBuffer(RECORD_PAYLOAD_BYTES).writeBytes(plaintext));
        }
        client.flush();
        ByteBuf stream = alloc.directBuffer(STREAM_BYTES + STREAM_BYTES / 64);
        Object msg;
        while ((msg = client.readOutbound()) != null) {
            stream.writeBytes((ByteBuf) msg);
            ReferenceCountUtil.release(msg);
        }
        client.finishAndReleaseAll();
        while (stream.isReadable()) {
            int n = Math.min(READ_BYTES, stream.readableBytes());
            reads.add(alloc.directBuffer(READ_BYTES).writeBytes(stream, n));
        }
        stream.release();
    }

    @TearDown(Level.Invocation)
    public void tearDownStream() {
        for (ByteBuf read : reads) {
            ReferenceCountUtil.safeRelease(read);
        }
        reads.clear();
        server.finishAndReleaseAll();
    }

    private static void shuttle(EmbeddedChannel from, EmbeddedChannel to) {
        Object msg;
        while ((msg = from.readOutbound()) != null) {
            to.writeInbound(msg);
        }
        Object in;
        while ((in = to.readInbound()) != null) {
            ReferenceCountUtil.release(in);
        }
    }

    @Benchmark
    public long receive(CpuCounters cpu) {
        long cpuStart = threads.getCurrentThreadCpuTime();
        long received = 0;
        EmbeddedChannel channel = server;
        List<ByteBuf> in = reads;
        for (int i = 0; i < in.size(); i++) {
            channel.writeInbound(in.get(i));
            Object msg;
            while ((msg = channel.readInbound()) != null) {
                received += ((ByteBuf) msg).readableBytes();
                ReferenceCountUtil.release(msg);
            }
        }
        in.clear();
        cpu.cpuNanos += threads.getCurrentThreadCpuTime() - cpuStart;
        cpu.streams++;
        if (received != STREAM_BYTES) {
            throw new IllegalStateException("received " + received + " of " + STREAM_BYTES + " bytes");
        }
        return received;
    }
}
