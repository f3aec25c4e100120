package io.ktls.handler.benchmarks;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.TrafficKeys;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.Provider;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Should a file record be sealed straight from direct memory? The file server's records go from a file's mapping
 * (direct memory) to an output run (direct memory). Four ways to seal one 16 KiB TLS 1.3 AES-128-GCM record that
 * way, per provider, in one run:
 * <ul>
 *   <li>{@code sealThroughHeapStage}: {@link RecordCipher#seal} as the handler does it (the payload copied into
 *       a per-thread heap array, sealed there, copied out);</li>
 *   <li>{@code providerDirect}: the provider's own {@code doFinal(ByteBuffer, ByteBuffer)} from the source to
 *       the run, no copy of ours: the best a provider with a direct-memory path offers;</li>
 *   <li>{@code providerInPlace}: the payload copied into the run, then sealed in place there by the provider's
 *       direct path (what a record layout with the plaintext in its output run would do);</li>
 *   <li>{@code copyOnly}: the floor of any of them, one 16 KiB copy from the source to the run.</li>
 * </ul>
 * Providers: Amazon Corretto (the examples' provider on JDK 17) and Conscrypt (BoringSSL; its direct
 * {@code ByteBuffer} path seals with no copy, {@code EVP_AEAD_CTX_seal}). Results: docs/crypto.md.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class DirectSealBenchmark {

    static final int PAYLOAD_BYTES = 16384;
    static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;

    @State(Scope.Thread)
    public static class Sealer {
        @Param({"AmazonCorrettoCryptoProvider", "Conscrypt"})
        public String provider;

        RecordCipher cipher;
        ByteBuffer source;
        ByteBuffer header;
        ByteBuffer run;
        ByteBuffer trailer;
        long seq;

        Cipher raw;
        SecretKeySpec rawKey;
        byte[] rawNonce = new byte[12];
        byte[] rawAad = new byte[5];
        long rawCounter;

        @Setup
        public void setUp() throws Exception {
            Provider jce = "Conscrypt".equals(provider)
                    ? (Provider) Class.forName("org.conscrypt.OpenSSLProvider").getConstructor().newInstance()
                    : (Provider) Class.forName("com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider")
                                      .getField("INSTANCE").get(null);
            AeadProvider aead = AeadProviders.of(jce);
            TrafficKeys keys = RecordSealBenchmark.keys(SUITE);
            cipher = RecordCipher.create(SUITE, keys, aead);
            keys.close();

            byte[] data = new byte[PAYLOAD_BYTES];
            new Random(42).nextBytes(data);
            source = ByteBuffer.allocateDirect(PAYLOAD_BYTES).put(data).flip();
            header = ByteBuffer.allocateDirect(cipher.headerLength());
            run = ByteBuffer.allocateDirect(PAYLOAD_BYTES + 64);
            trailer = ByteBuffer.allocateDirect(cipher.trailerLength(PAYLOAD_BYTES));

            raw = aead.newCipher(SUITE.aead());
            byte[] keyBytes = new byte[SUITE.keyLength()];
            new Random(7).nextBytes(keyBytes);
            rawKey = new SecretKeySpec(keyBytes, SUITE.aead().keyAlgorithm());
        }

        @TearDown
        public void tearDown() {
            cipher.close();
        }

        void initRaw() throws Exception {
            long n = rawCounter++;
            for (int i = 0; i < 8; i++) {
                rawNonce[4 + i] = (byte) (n >>> (56 - 8 * i));
            }
            raw.init(Cipher.ENCRYPT_MODE, rawKey, new GCMParameterSpec(128, rawNonce));
            raw.updateAAD(rawAad);
        }
    }

    @Benchmark
    public ByteBuffer sealThroughHeapStage(Sealer s) {
        s.source.rewind();
        s.header.clear();
        s.trailer.clear();
        ByteBuffer body = s.run.clear().limit(PAYLOAD_BYTES);
        s.cipher.seal(s.seq++, RecordCipher.APPLICATION_DATA, s.source, s.header, body, s.trailer);
        return s.trailer;
    }

    @Benchmark
    public int providerDirect(Sealer s) throws Exception {
        s.initRaw();
        s.source.rewind();
        s.run.clear();
        return s.raw.doFinal(s.source, s.run);
    }

    @Benchmark
    public int providerInPlace(Sealer s) throws Exception {
        s.initRaw();
        s.source.rewind();
        s.run.clear();
        s.run.put(s.source);
        ByteBuffer in = s.run.duplicate().position(0).limit(PAYLOAD_BYTES);
        ByteBuffer out = s.run.duplicate().position(0).limit(PAYLOAD_BYTES + 16);
        return s.raw.doFinal(in, out);
    }

    @Benchmark
    public ByteBuffer copyOnly(Sealer s) {
        s.source.rewind();
        s.run.clear();
        return s.run.put(s.source);
    }
}
