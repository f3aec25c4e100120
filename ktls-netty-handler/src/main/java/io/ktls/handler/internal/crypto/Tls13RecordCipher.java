package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;

import java.nio.ByteBuffer;

/**
 * TLS 1.3 records (RFC 8446 section 5.2):
 * <pre>
 * TLSCiphertext = opaque_type(23) | legacy_record_version(0x0303) | length | encrypted_record
 * encrypted_record = AEAD-Encrypt(key, nonce = iv XOR seq, aad = the 5 header bytes,
 *                                 plaintext = content | real type | zeros)
 * </pre>
 * Sealing adds no padding. Opening strips the padding, refuses a record without a non-zero type byte
 * (unexpected_message), a length field above 2^14 + 256 and an inner plaintext above 2^14 + 1 (record_overflow).
 *
 * <p>Threads: see {@link RecordCipher}.
 */
final class Tls13RecordCipher extends AeadRecordCipher {

    /** RFC 8446 5.2: "The length MUST NOT exceed 2^14 + 256 bytes". */
    private static final int MAX_CIPHERTEXT_LENGTH = MAX_PAYLOAD_LENGTH + 256;
    /** RFC 8446 5.4: "The full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets". */
    private static final int MAX_INNER_PLAINTEXT_LENGTH = MAX_PAYLOAD_LENGTH + 1;
    private static final int TRAILER_LENGTH = 1 + TAG_LENGTH;

    private final ByteBuffer innerType = ByteBuffer.allocate(1);

    Tls13RecordCipher(TlsCipherSuite suite, RecordAead aead) {
        // The additional data is the record header itself.
        super(suite, aead, RECORD_HEADER_LENGTH, RECORD_HEADER_LENGTH, TRAILER_LENGTH, MAX_CIPHERTEXT_LENGTH);
    }

    @Override
    public int maxOpenedLength(int ciphertextLength) {
        return Math.max(0, ciphertextLength - TAG_LENGTH);
    }

    @Override
    byte[] fillSealHeader(long seq, byte contentType, int payloadLength) {
        putRecordHeader(aad, APPLICATION_DATA, ciphertextLength(payloadLength));
        return aad;
    }

    /** The real content type, encrypted after the payload. */
    @Override
    ByteBuffer innerContentType(byte contentType) {
        innerType.clear();
        innerType.put(0, contentType);
        return innerType;
    }

    @Override
    int checkOpenedLength(byte outerType, int length) throws TlsRecordException {
        if (outerType != APPLICATION_DATA) {
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                    "protected record with outer content type " + (outerType & 0xFF));
        }
        if (length < TAG_LENGTH) {
            throw new TlsRecordException(TlsRecordException.BAD_RECORD_MAC,
                    "record length " + length + " shorter than the tag");
        }
        int innerLength = length - TAG_LENGTH;
        if (innerLength > MAX_INNER_PLAINTEXT_LENGTH) {
            throw new TlsRecordException(TlsRecordException.RECORD_OVERFLOW,
                    "inner plaintext " + innerLength + " > " + MAX_INNER_PLAINTEXT_LENGTH);
        }
        return innerLength;
    }

    @Override
    void fillOpenAad(long seq, ByteBuffer record, int start, int innerLength) {
        for (int i = 0; i < RECORD_HEADER_LENGTH; i++) {
            aad[i] = record.get(start + i);
        }
    }

    @Override
    long openNonce(long seq, ByteBuffer record, int start) {
        return seq;
    }

    /** RFC 8446 5.4: the content type is the last non-zero byte; zeros after it are padding. */
    @Override
    byte contentType(byte outerType, ByteBuffer plaintextOut, int outStart, int innerLength)
            throws TlsRecordException {
        int typeIndex = plaintextOut.position() - 1;
        while (typeIndex >= outStart && plaintextOut.get(typeIndex) == 0) {
            typeIndex--;
        }
        if (typeIndex < outStart) {
            plaintextOut.position(outStart);
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                    "record without content type (all " + innerLength + " bytes are zero)");
        }
        byte contentType = plaintextOut.get(typeIndex);
        plaintextOut.position(typeIndex);
        return contentType;
    }
}
