package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code tls12_crypto_info_*} structures handed to Linux: the layout of include/uapi/linux/tls.h, and, what
 * matters more, that the records the kernel seals from them (following net/tls: TLS 1.3 and ChaCha20 XOR the
 * sequence into {@code salt | iv}; TLS 1.2 AES-GCM sends {@code iv} as the explicit nonce, incremented per record)
 * are byte for byte the records our own keys would make at the same sequence numbers.
 */
class LinuxTlsCryptoInfoTest {

    private static final long SEQUENCE = 0x0102030405060708L;

    @ParameterizedTest
    @EnumSource(TlsCipherSuite.class)
    void layoutFollowsTheKernelHeader(TlsCipherSuite suite) {
        try (TrafficKeys keys = RecordCipherContractTest.keys(suite)) {
            ByteBuffer info = LinuxTlsCryptoInfo.encode(keys, SEQUENCE);
            assertTrue(info.isDirect());
            boolean chacha = suite.aead() == AeadAlgorithm.CHACHA20_POLY1305;
            int expectedLength = chacha ? 56 : suite.keyLength() == 16 ? 40 : 56;
            assertEquals(expectedLength, info.remaining());
            assertEquals(expectedLength, LinuxTlsCryptoInfo.length(suite));
            ByteBuffer header = info.duplicate().order(ByteOrder.nativeOrder());
            assertEquals(suite.isTls13() ? 0x0304 : 0x0303, header.getShort(0));
            assertEquals(chacha ? 54 : suite.keyLength() == 16 ? 51 : 52, header.getShort(2));
            Fields fields = Fields.of(suite, info);
            assertArrayEquals(keys.key(), fields.key);
            assertEquals(SEQUENCE, fields.recSeq);
            assertEquals(SEQUENCE, LinuxTlsCryptoInfo.sequence(info));
        }
    }

    @ParameterizedTest
    @EnumSource(TlsCipherSuite.class)
    void theKernelsRecordsAreOursAtTheSameSequenceNumbers(TlsCipherSuite suite) throws Exception {
        byte[] content = "kernel sealed".getBytes();
        try (TrafficKeys keys = RecordCipherContractTest.keys(suite)) {
            Fields fields = Fields.of(suite, LinuxTlsCryptoInfo.encode(keys, SEQUENCE));
            for (long records = 0; records < 3; records++) {
                long seq = SEQUENCE + records;
                byte[] ours;
                byte[] kernels;
                if (suite.isTls13()) {
                    ours = ReferenceRecords.tls13(suite, keys.key(), keys.iv(), seq, (byte) 23, content, 0);
                    kernels = ReferenceRecords.tls13(suite, fields.key, concat(fields.salt, fields.iv),
                            fields.recSeq + records, (byte) 23, content, 0);
                } else if (suite.aead() == AeadAlgorithm.AES_GCM) {
                    // Ours: the explicit nonce is the sequence number (as BoringSSL's before the takeover).
                    ours = ReferenceRecords.tls12(suite, keys.key(), keys.iv(), seq, seq, (byte) 23, content);
                    long explicitNonce = ByteBuffer.wrap(fields.iv).getLong() + records;
                    kernels = ReferenceRecords.tls12(suite, fields.key, fields.salt, fields.recSeq + records,
                            explicitNonce, (byte) 23, content);
                } else {
                    ours = ReferenceRecords.tls12(suite, keys.key(), keys.iv(), seq, 0, (byte) 23, content);
                    kernels = ReferenceRecords.tls12(suite, fields.key, fields.iv, fields.recSeq + records, 0,
                            (byte) 23, content);
                }
                assertArrayEquals(ours, kernels, "record " + records);
            }
        }
    }

    @Test
    void zeroClearsTheWholeBuffer() {
        try (TrafficKeys keys = RecordCipherContractTest.keys(TlsCipherSuite.TLS_AES_256_GCM_SHA384)) {
            ByteBuffer info = LinuxTlsCryptoInfo.encode(keys, SEQUENCE);
            info.position(7);
            LinuxTlsCryptoInfo.zero(info);
            for (int i = 0; i < info.capacity(); i++) {
                assertEquals(0, info.get(i), "byte " + i);
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    /** The structure's fields read back independently, by the offsets of include/uapi/linux/tls.h. */
    private static final class Fields {
        byte[] iv;
        byte[] key;
        byte[] salt;
        long recSeq;

        static Fields of(TlsCipherSuite suite, ByteBuffer info) {
            ByteBuffer in = info.duplicate().order(ByteOrder.BIG_ENDIAN);
            in.position(4);
            Fields fields = new Fields();
            boolean chacha = suite.aead() == AeadAlgorithm.CHACHA20_POLY1305;
            fields.iv = new byte[chacha ? 12 : 8];
            fields.key = new byte[suite.keyLength()];
            fields.salt = new byte[chacha ? 0 : 4];
            in.get(fields.iv).get(fields.key).get(fields.salt);
            fields.recSeq = in.getLong();
            assertEquals(0, in.remaining());
            return fields;
        }
    }
}
