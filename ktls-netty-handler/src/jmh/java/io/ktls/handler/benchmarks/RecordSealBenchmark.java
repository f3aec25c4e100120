package io.ktls.handler.benchmarks;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.Tls12KeyBlock;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
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

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Sealing one 16 KiB TLS record, per suite and AEAD provider, three ways in one run:
 * <ul>
 *   <li>{@code seal}: {@link RecordCipher#seal} as the handler uses it, header | body | trailer into three
 *       buffers of the {@code memory} kind, the body exactly 16 KiB;</li>
 *   <li>{@code sealRecord}: the contiguous variant into one buffer;</li>
 *   <li>{@code rawAead}: the baseline, the bare AEAD on the same provider and buffers
 *       ({@code init} with a fresh nonce, the AAD, {@code doFinal} of 16 KiB);</li>
 *   <li>{@code sslHandlerWrap} (state {@link SslHandlerPair}): Netty's {@link SslHandler} writing and flushing a
 *       16 KiB {@link ByteBuf} after a real handshake, with the OpenSSL (BoringSSL) and the JDK engine.</li>
 * </ul>
 * A good result: {@code seal} within 10% of {@code rawAead} (framing costs a header, a nonce and a split
 * {@code doFinal}; the 16-byte tail goes through a small scratch buffer), and at least as fast as
 * {@code sslHandlerWrap} with the same AEAD. Throughput in records per second; GB/s = ops/s x 16384 / 1e9.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RecordSealBenchmark {

    static final int PAYLOAD_BYTES = 16384;

    @State(Scope.Thread)
    public static class Sealer {
        /** suite@provider; only combinations the provider supports (Corretto 2.5.0 has no ChaCha20). */
        @Param({
                "TLS_AES_128_GCM_SHA256@SunJCE",
                "TLS_AES_128_GCM_SHA256@AmazonCorrettoCryptoProvider",
                "TLS_AES_256_GCM_SHA384@SunJCE",
                "TLS_AES_256_GCM_SHA384@AmazonCorrettoCryptoProvider",
                "TLS_CHACHA20_POLY1305_SHA256@SunJCE",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256@SunJCE",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256@AmazonCorrettoCryptoProvider",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256@SunJCE",
        })
        public String suiteAtProvider;

        @Param({"direct", "heap"})
        public String memory;

        TlsCipherSuite suite;
        RecordCipher cipher;
        ByteBuffer payload;
        ByteBuffer header;
        ByteBuffer body;
        ByteBuffer trailer;
        ByteBuffer record;
        long seq;

        // Raw AEAD baseline: same provider, same buffers.
        Cipher raw;
        SecretKeySpec rawKey;
        byte[] rawNonce = new byte[12];
        byte[] rawAad;
        ByteBuffer rawOut;
        long rawCounter;

        @Setup
        public void setUp() throws Exception {
            String[] parts = suiteAtProvider.split("@");
            suite = TlsCipherSuite.valueOf(parts[0]);
            AeadProvider provider = "SunJCE".equals(parts[1]) ? AeadProviders.sunJce()
                    : AeadProviders.amazonCorretto().orElseThrow(() -> new IllegalStateException(
                            "Amazon Corretto Crypto Provider not on the class path"));
            boolean direct = "direct".equals(memory);
            TrafficKeys keys = keys(suite);
            cipher = RecordCipher.create(suite, keys, provider);

            byte[] data = new byte[PAYLOAD_BYTES];
            new Random(42).nextBytes(data);
            payload = allocate(PAYLOAD_BYTES, direct).put(data).flip();
            header = allocate(cipher.headerLength(), direct);
            body = allocate(PAYLOAD_BYTES, direct);
            trailer = allocate(cipher.trailerLength(PAYLOAD_BYTES), direct);
            record = allocate(cipher.recordLength(PAYLOAD_BYTES), direct);

            raw = provider.newCipher(suite.aead());
            byte[] keyBytes = new byte[suite.keyLength()];
            new Random(7).nextBytes(keyBytes);
            rawKey = new SecretKeySpec(keyBytes, suite.aead().keyAlgorithm());
            rawAad = new byte[suite.isTls13() ? 5 : 13];
            rawOut = allocate(PAYLOAD_BYTES + 16, direct);
            keys.close();
        }

        @TearDown
        public void tearDown() {
            cipher.close();
        }
    }

    static ByteBuffer allocate(int capacity, boolean direct) {
        return direct ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity);
    }

    static TrafficKeys keys(TlsCipherSuite suite) {
        Random random = new Random(suite.ordinal());
        if (suite.isTls13()) {
            byte[] secret = new byte[suite.hashLength()];
            random.nextBytes(secret);
            return TrafficKeys.tls13(suite, secret);
        }
        byte[] master = new byte[48];
        byte[] clientRandom = new byte[32];
        byte[] serverRandom = new byte[32];
        random.nextBytes(master);
        random.nextBytes(clientRandom);
        random.nextBytes(serverRandom);
        Tls12KeyBlock block = Tls12KeyBlock.derive(suite, master, clientRandom, serverRandom);
        block.clientWrite().close();
        return block.serverWrite();
    }

    @Benchmark
    public ByteBuffer seal(Sealer s) {
        s.payload.rewind();
        s.header.clear();
        s.body.clear();
        s.trailer.clear();
        s.cipher.seal(s.seq++, RecordCipher.APPLICATION_DATA, s.payload, s.header, s.body, s.trailer);
        return s.trailer;
    }

    @Benchmark
    public ByteBuffer sealRecord(Sealer s) {
        s.payload.rewind();
        s.record.clear();
        s.cipher.sealRecord(s.seq++, RecordCipher.APPLICATION_DATA, s.payload, s.record);
        return s.record;
    }

    @Benchmark
    public int rawAead(Sealer s) throws Exception {
        long n = s.rawCounter++;
        for (int i = 0; i < 8; i++) {
            s.rawNonce[4 + i] = (byte) (n >>> (56 - 8 * i));
        }
        s.raw.init(Cipher.ENCRYPT_MODE, s.rawKey, s.suite.aead() == AeadAlgorithm.AES_GCM
                ? new GCMParameterSpec(128, s.rawNonce) : new IvParameterSpec(s.rawNonce));
        s.raw.updateAAD(s.rawAad);
        s.payload.rewind();
        s.rawOut.clear();
        return s.raw.doFinal(s.payload, s.rawOut);
    }

    /** A server and a client {@link SslHandler} in two {@link EmbeddedChannel}s, handshaken once per trial. */
    @State(Scope.Thread)
    public static class SslHandlerPair {
        @Param({"OPENSSL", "JDK"})
        public String sslProvider;

        /**
         * BoringSSL does not let a context pick among TLS 1.3 suites (it negotiates AES-GCM here), so
         * ChaCha20-Poly1305 is measured with TLS 1.2, whose record cost is the same.
         */
        @Param({"TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"})
        public String sslSuite;

        EmbeddedChannel server;
        EmbeddedChannel client;
        ByteBuf payload;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            SslProvider provider = SslProvider.valueOf(sslProvider);
            List<String> suites = List.of(sslSuite);
            String protocol = sslSuite.contains("ECDHE") ? "TLSv1.2" : "TLSv1.3";
            SslContext serverContext = SslContextBuilder
                    .forServer(pem(CERTIFICATE), pem(PRIVATE_KEY))
                    .sslProvider(provider).protocols(protocol).ciphers(suites).build();
            SslContext clientContext = SslContextBuilder.forClient()
                    .trustManager(InsecureTrustManagerFactory.INSTANCE)
                    .sslProvider(provider).protocols(protocol).ciphers(suites).build();
            ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
            server = new EmbeddedChannel(serverContext.newHandler(alloc));
            client = new EmbeddedChannel(clientContext.newHandler(alloc, "localhost", 443));
            server.config().setAllocator(alloc);
            client.config().setAllocator(alloc);
            SslHandler serverSsl = server.pipeline().get(SslHandler.class);
            SslHandler clientSsl = client.pipeline().get(SslHandler.class);
            for (int i = 0; i < 100 && !(serverSsl.handshakeFuture().isDone() && clientSsl.handshakeFuture().isDone());
                 i++) {
                shuttle(client, server);
                shuttle(server, client);
            }
            if (!serverSsl.handshakeFuture().isSuccess() || !clientSsl.handshakeFuture().isSuccess()) {
                throw new IllegalStateException("handshake failed: " + serverSsl.handshakeFuture().cause()
                                                + " / " + clientSsl.handshakeFuture().cause());
            }
            String negotiated = serverSsl.engine().getSession().getCipherSuite();
            if (!sslSuite.equals(negotiated)) {
                throw new IllegalStateException("negotiated " + negotiated + " (expected: " + sslSuite + ")");
            }
            drain(server);
            byte[] data = new byte[PAYLOAD_BYTES];
            new Random(42).nextBytes(data);
            payload = alloc.directBuffer(PAYLOAD_BYTES).writeBytes(data);
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

        private static void drain(EmbeddedChannel channel) {
            Object msg;
            while ((msg = channel.readOutbound()) != null) {
                ReferenceCountUtil.release(msg);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            payload.release();
            server.finishAndReleaseAll();
            client.finishAndReleaseAll();
        }
    }

    @Benchmark
    public void sslHandlerWrap(SslHandlerPair p, Blackhole bh) {
        p.server.writeAndFlush(p.payload.retainedDuplicate());
        Object record;
        while ((record = p.server.readOutbound()) != null) {
            bh.consume(((ByteBuf) record).readableBytes());
            ReferenceCountUtil.release(record);
        }
    }

    private static ByteArrayInputStream pem(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII));
    }

    /** A throwaway self-signed P-256 certificate for "localhost", used by this benchmark only. */
    private static final String CERTIFICATE = "-----BEGIN CERTIFICATE-----\n"
            + "MIIBfzCCASWgAwIBAgIUaSx5s1XYxd5f1fXIAhOXqaV/MGswCgYIKoZIzj0EAwIw\n"
            + "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNDE5MjgxNloYDzIxMjYxMDMx\n"
            + "MTkyODE2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
            + "PQMBBwNCAAS1ACSYgWOYd2Vqe8c6XHOxYqoZETFnWKexCA61grS2hrVQEhUNI/RY\n"
            + "sDChcr9Orsv74ei3iCUGitvTYsx3NVnuo1MwUTAdBgNVHQ4EFgQUO5Murqwn86kG\n"
            + "Y5Jql+SLkvhTGJQwHwYDVR0jBBgwFoAUO5Murqwn86kGY5Jql+SLkvhTGJQwDwYD\n"
            + "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA+QHrYQGC7lL2li4xTOmr\n"
            + "h+vKM713U8DG3K11BO7KgnkCIC+LSVC9Us9R4csG5HiRU8HADG8Aq43F39tMBi+v\n"
            + "L80g\n"
            + "-----END CERTIFICATE-----\n";

    /** The certificate's key: a benchmark-only throwaway, protecting nothing. */
    private static final String PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\n"
            + "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgppt9v/gqB8nkG+iC\n"
            + "kIZmay8DtST8Aub9KiFOlAhO8tihRANCAAS1ACSYgWOYd2Vqe8c6XHOxYqoZETFn\n"
            + "WKexCA61grS2hrVQEhUNI/RYsDChcr9Orsv74ei3iCUGitvTYsx3NVnu\n"
            + "-----END PRIVATE KEY-----\n";
}
