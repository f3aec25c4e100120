package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;

import java.nio.ByteBuffer;

/**
 * TLS 1.2 AEAD records (RFC 5246 section 6.2.3.3):
 * <pre>
 * AES-GCM (RFC 5288)          : type | 0x0303 | length | explicit nonce(8) | ciphertext | tag(16)
 *                               nonce = salt(4) || explicit nonce; explicit nonce = seq when sealing
 * ChaCha20-Poly1305 (RFC 7905): type | 0x0303 | length | ciphertext | tag(16)
 *                               nonce = iv XOR (0^32 || seq)
 * additional_data = seq_num(8) | type(1) | version(2) | plaintext length(2)
 * </pre>
 * Opening refuses a length field above 2^14 + 2048 or a plaintext above 2^14 (record_overflow), and content
 * types other than alert, handshake and application_data (unexpected_message).
 *
 * <p>Threads: see {@link RecordCipher}.
 */
final class Tls12RecordCipher extends AeadRecordCipher {

    /** RFC 5246 6.2.3: "The length MUST NOT exceed 2^14 + 2048". */
    private static final int MAX_CIPHERTEXT_LENGTH = MAX_PAYLOAD_LENGTH + 2048;
    private static final int AAD_LENGTH = 13;

    private final int explicitNonceLength;
    private final byte[] header = new byte[RECORD_HEADER_LENGTH + 8];

    Tls12RecordCipher(TlsCipherSuite suite, RecordAead aead) {
        super(suite, aead, AAD_LENGTH, RECORD_HEADER_LENGTH + suite.explicitNonceLength(), TAG_LENGTH,
              MAX_CIPHERTEXT_LENGTH);
        this.explicitNonceLength = suite.explicitNonceLength();
    }

    @Override
    public int maxOpenedLength(int ciphertextLength) {
        return Math.max(0, ciphertextLength - explicitNonceLength - TAG_LENGTH);
    }

    /** Fills {@link #header} (with the explicit nonce) and {@link #aad}. */
    @Override
    byte[] fillSealHeader(long seq, byte contentType, int payloadLength) {
        putRecordHeader(header, contentType, ciphertextLength(payloadLength));
        if (explicitNonceLength > 0) {
            putLong(header, RECORD_HEADER_LENGTH, seq);
        }
        fillAad(seq, contentType, (byte) 3, (byte) 3, payloadLength);
        return header;
    }

    /** TLS 1.2 carries the content type in the header only. */
    @Override
    ByteBuffer innerContentType(byte contentType) {
        return null;
    }

    @Override
    int checkOpenedLength(byte contentType, int length) throws TlsRecordException {
        if (contentType != ALERT && contentType != HANDSHAKE && contentType != APPLICATION_DATA) {
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                    "protected record with content type " + (contentType & 0xFF));
        }
        if (length < explicitNonceLength + TAG_LENGTH) {
            throw new TlsRecordException(TlsRecordException.BAD_RECORD_MAC,
                    "record length " + length + " shorter than explicit nonce and tag");
        }
        int payloadLength = length - explicitNonceLength - TAG_LENGTH;
        if (payloadLength > MAX_PAYLOAD_LENGTH) {
            throw new TlsRecordException(TlsRecordException.RECORD_OVERFLOW,
                    "plaintext " + payloadLength + " > " + MAX_PAYLOAD_LENGTH);
        }
        return payloadLength;
    }

    @Override
    void fillOpenAad(long seq, ByteBuffer record, int start, int payloadLength) {
        fillAad(seq, record.get(start), record.get(start + 1), record.get(start + 2), payloadLength);
    }

    @Override
    long openNonce(long seq, ByteBuffer record, int start) {
        if (explicitNonceLength == 0) {
            return seq;
        }
        long nonceValue = 0;
        for (int i = 0; i < 8; i++) {
            nonceValue = nonceValue << 8 | record.get(start + RECORD_HEADER_LENGTH + i) & 0xFF;
        }
        return nonceValue;
    }

    @Override
    byte contentType(byte outerType, ByteBuffer plaintextOut, int outStart, int payloadLength) {
        return outerType;
    }

    private void fillAad(long seq, byte contentType, byte versionMajor, byte versionMinor, int payloadLength) {
        putLong(aad, 0, seq);
        aad[8] = contentType;
        aad[9] = versionMajor;
        aad[10] = versionMinor;
        aad[11] = (byte) (payloadLength >>> 8);
        aad[12] = (byte) payloadLength;
    }

    private static void putLong(byte[] dst, int offset, long value) {
        for (int i = 0; i < 8; i++) {
            dst[offset + i] = (byte) (value >>> (56 - 8 * i));
        }
    }
}
