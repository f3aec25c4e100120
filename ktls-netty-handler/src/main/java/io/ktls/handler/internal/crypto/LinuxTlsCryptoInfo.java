package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.TlsCipherSuite;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One direction's keys in the layout Linux kernel TLS takes from {@code setsockopt(SOL_TLS, TLS_TX)}: the
 * {@code struct tls12_crypto_info_*} of {@code include/uapi/linux/tls.h}, a {@code struct tls_crypto_info}
 * header (version and cipher type, host byte order) followed by the cipher's fields.
 *
 * <pre>
 *   AES-GCM-128        version cipher=51 | iv[8]  | key[16] | salt[4] | rec_seq[8]   40 bytes
 *   AES-GCM-256        version cipher=52 | iv[8]  | key[32] | salt[4] | rec_seq[8]   56 bytes
 *   CHACHA20-POLY1305  version cipher=54 | iv[12] | key[32] |         | rec_seq[8]   56 bytes
 * </pre>
 *
 * How our IVs map onto those fields, so that the kernel's first nonce follows ours without a gap or a repeat:
 * <ul>
 *   <li>TLS 1.3, AES-GCM: the 12-byte IV is {@code salt | iv}; the kernel XORs the sequence into it, as RFC 8446
 *       section 5.3 does.</li>
 *   <li>TLS 1.2, AES-GCM: our 4-byte IV is the salt; {@code iv} is the explicit nonce of the next record, which
 *       the kernel increments per record. Our records (and BoringSSL's before them) use the sequence number as the
 *       explicit nonce, so it is the sequence number here too.</li>
 *   <li>ChaCha20-Poly1305, both versions: the 12-byte IV, XORed with the sequence (RFC 7905, RFC 8446).</li>
 * </ul>
 *
 * <p>The buffer holds key material: it is direct (the kernel reads it in place, no copy on the Java heap), and
 * {@link #zero(ByteBuffer)} clears it as soon as the socket has it.
 */
public final class LinuxTlsCryptoInfo {

    /** {@code TLS_1_2_VERSION}, {@code TLS_1_3_VERSION}. */
    private static final short TLS_1_2_VERSION = 0x0303;
    private static final short TLS_1_3_VERSION = 0x0304;
    /** {@code TLS_CIPHER_AES_GCM_128}, {@code _256}, {@code TLS_CIPHER_CHACHA20_POLY1305}. */
    static final short CIPHER_AES_GCM_128 = 51;
    static final short CIPHER_AES_GCM_256 = 52;
    static final short CIPHER_CHACHA20_POLY1305 = 54;
    private static final int HEADER_BYTES = 4;
    private static final int AES_GCM_SALT_BYTES = 4;
    private static final int AES_GCM_IV_BYTES = 8;
    private static final int REC_SEQ_BYTES = 8;

    private LinuxTlsCryptoInfo() {
    }

    /** The size of the structure for {@code suite}: what setsockopt and getsockopt are given as the length. */
    public static int length(TlsCipherSuite suite) {
        if (suite.aead() == AeadAlgorithm.CHACHA20_POLY1305) {
            return HEADER_BYTES + 12 + 32 + REC_SEQ_BYTES;
        }
        return HEADER_BYTES + AES_GCM_IV_BYTES + suite.keyLength() + AES_GCM_SALT_BYTES + REC_SEQ_BYTES;
    }

    /**
     * The structure for {@code keys} whose next record has sequence number {@code sequence}: a new direct buffer,
     * position 0, limit its length. The caller passes it to the socket and then {@linkplain #zero zeroes} it.
     */
    public static ByteBuffer encode(TrafficKeys keys, long sequence) {
        TlsCipherSuite suite = keys.suite();
        byte[] key = keys.key();
        byte[] iv = keys.iv();
        ByteBuffer info = ByteBuffer.allocateDirect(length(suite));
        info.order(ByteOrder.nativeOrder());
        info.putShort(suite.isTls13() ? TLS_1_3_VERSION : TLS_1_2_VERSION);
        info.putShort(cipherType(suite));
        info.order(ByteOrder.BIG_ENDIAN);
        if (suite.aead() == AeadAlgorithm.CHACHA20_POLY1305) {
            info.put(iv).put(key);
        } else if (suite.isTls13()) {
            info.put(iv, AES_GCM_SALT_BYTES, AES_GCM_IV_BYTES).put(key).put(iv, 0, AES_GCM_SALT_BYTES);
        } else {
            info.putLong(sequence).put(key).put(iv, 0, AES_GCM_SALT_BYTES);
        }
        info.putLong(sequence);
        assert !info.hasRemaining() : info;
        return info.flip();
    }

    /**
     * The record sequence number in a structure read back with {@code getsockopt(SOL_TLS, TLS_TX)}: the kernel's
     * next sequence number. The buffer holds the key too; the caller zeroes it.
     */
    public static long sequence(ByteBuffer info) {
        if (info.remaining() < HEADER_BYTES + REC_SEQ_BYTES) {
            throw new IllegalArgumentException("crypto info of " + info.remaining() + " bytes");
        }
        return info.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(info.limit() - REC_SEQ_BYTES);
    }

    /** The kernel's {@code cipher_type} of {@code suite}. */
    static short cipherType(TlsCipherSuite suite) {
        if (suite.aead() == AeadAlgorithm.CHACHA20_POLY1305) {
            return CIPHER_CHACHA20_POLY1305;
        }
        return suite.keyLength() == 16 ? CIPHER_AES_GCM_128 : CIPHER_AES_GCM_256;
    }

    /** Overwrites the whole buffer (position 0 to capacity) with zeros. */
    public static void zero(ByteBuffer info) {
        for (int i = 0; i < info.capacity(); i++) {
            info.put(i, (byte) 0);
        }
    }
}
