package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.TlsCipherSuite;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.spec.AlgorithmParameterSpec;

/**
 * An independent, deliberately naive construction of TLS records straight from the RFCs with SunJCE and byte
 * arrays, to cross-check {@link RecordCipher} (which shares none of this code).
 */
final class ReferenceRecords {

    private ReferenceRecords() {
    }

    /** RFC 8446 5.2: 23 | 0303 | len | AEAD(content | type | zeros), nonce = iv ^ seq, aad = header. */
    static byte[] tls13(TlsCipherSuite suite, byte[] key, byte[] iv, long seq, byte type, byte[] content,
                        int paddingLength) throws GeneralSecurityException {
        byte[] inner = new byte[content.length + 1 + paddingLength];
        System.arraycopy(content, 0, inner, 0, content.length);
        inner[content.length] = type;
        return tls13Raw(suite, key, iv, seq, inner);
    }

    /** A TLS 1.3 record whose encrypted inner plaintext is exactly {@code inner}. */
    static byte[] tls13Raw(TlsCipherSuite suite, byte[] key, byte[] iv, long seq, byte[] inner)
            throws GeneralSecurityException {
        int length = inner.length + 16;
        byte[] header = {23, 3, 3, (byte) (length >> 8), (byte) length};
        byte[] nonce = iv.clone();
        for (int i = 0; i < 8; i++) {
            nonce[11 - i] ^= (byte) (seq >>> (8 * i));
        }
        Cipher cipher = cipher(suite, Cipher.ENCRYPT_MODE, key, nonce);
        cipher.updateAAD(header);
        byte[] sealed = cipher.doFinal(inner);
        return ByteBuffer.allocate(5 + sealed.length).put(header).put(sealed).array();
    }

    /**
     * RFC 5246 6.2.3.3 with RFC 5288 (GCM: salt || explicit nonce, explicit nonce in the record) or RFC 7905
     * (ChaCha20: iv ^ seq); aad = seq | type | 0303 | plaintext length.
     */
    static byte[] tls12(TlsCipherSuite suite, byte[] key, byte[] iv, long seq, long explicitNonce, byte type,
                        byte[] content) throws GeneralSecurityException {
        boolean gcm = suite.aead() == AeadAlgorithm.AES_GCM;
        byte[] nonce = new byte[12];
        if (gcm) {
            System.arraycopy(iv, 0, nonce, 0, 4);
            ByteBuffer.wrap(nonce, 4, 8).putLong(explicitNonce);
        } else {
            System.arraycopy(iv, 0, nonce, 0, 12);
            for (int i = 0; i < 8; i++) {
                nonce[11 - i] ^= (byte) (seq >>> (8 * i));
            }
        }
        ByteBuffer aad = ByteBuffer.allocate(13).putLong(seq).put(type).put((byte) 3).put((byte) 3)
                                   .putShort((short) content.length);
        Cipher cipher = cipher(suite, Cipher.ENCRYPT_MODE, key, nonce);
        cipher.updateAAD(aad.array());
        byte[] sealed = cipher.doFinal(content);
        int length = (gcm ? 8 : 0) + sealed.length;
        ByteBuffer record = ByteBuffer.allocate(5 + length);
        record.put(type).put((byte) 3).put((byte) 3).putShort((short) length);
        if (gcm) {
            record.putLong(explicitNonce);
        }
        return record.put(sealed).array();
    }

    private static Cipher cipher(TlsCipherSuite suite, int mode, byte[] key, byte[] nonce)
            throws GeneralSecurityException {
        boolean gcm = suite.aead() == AeadAlgorithm.AES_GCM;
        Cipher cipher = Cipher.getInstance(gcm ? "AES/GCM/NoPadding" : "ChaCha20-Poly1305", "SunJCE");
        AlgorithmParameterSpec spec = gcm ? new GCMParameterSpec(128, nonce) : new IvParameterSpec(nonce);
        cipher.init(mode, new SecretKeySpec(key, gcm ? "AES" : "ChaCha20"), spec);
        return cipher;
    }
}
