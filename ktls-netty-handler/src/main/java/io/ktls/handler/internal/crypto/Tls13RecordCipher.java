package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

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
final class Tls13RecordCipher implements RecordCipher {

    /** RFC 8446 5.2: "The length MUST NOT exceed 2^14 + 256 bytes". */
    private static final int MAX_CIPHERTEXT_LENGTH = MAX_PAYLOAD_LENGTH + 256;
    /** RFC 8446 5.4: "The full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets". */
    private static final int MAX_INNER_PLAINTEXT_LENGTH = MAX_PAYLOAD_LENGTH + 1;
    private static final int TAG_LENGTH = 16;
    private static final int TRAILER_LENGTH = 1 + TAG_LENGTH;

    private final TlsCipherSuite suite;
    private final RecordAead aead;
    private final byte[] aad = new byte[RECORD_HEADER_LENGTH];
    private final ByteBuffer innerType = ByteBuffer.allocate(1);

    Tls13RecordCipher(TlsCipherSuite suite, RecordAead aead) {
        this.suite = suite;
        this.aead = aead;
    }

    @Override
    public TlsCipherSuite suite() {
        return suite;
    }

    @Override
    public String providerName() {
        return aead.providerName();
    }

    @Override
    public int headerLength() {
        return RECORD_HEADER_LENGTH;
    }

    @Override
    public int trailerLength(int payloadLength) {
        return TRAILER_LENGTH;
    }

    @Override
    public int ciphertextLength(int payloadLength) {
        return payloadLength + TRAILER_LENGTH;
    }

    @Override
    public int recordLength(int payloadLength) {
        return RECORD_HEADER_LENGTH + payloadLength + TRAILER_LENGTH;
    }

    @Override
    public int maxPayloadLength() {
        return MAX_PAYLOAD_LENGTH;
    }

    @Override
    public int maxOpenedLength(int ciphertextLength) {
        return Math.max(0, ciphertextLength - TAG_LENGTH);
    }

    @Override
    public void seal(long seq, byte contentType, ByteBuffer payload, ByteBuffer header, ByteBuffer body,
                     ByteBuffer trailer) {
        int length = checkPayload(payload);
        checkRoom("header", header, RECORD_HEADER_LENGTH);
        checkRoom("body", body, length);
        checkRoom("trailer", trailer, TRAILER_LENGTH);
        try {
            begin(seq, length);
            header.put(aad, 0, RECORD_HEADER_LENGTH);
            innerType.clear();
            innerType.put(0, contentType);
            aead.encrypt(payload, body, innerType, trailer);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " seal failed, seq " + seq, e);
        }
    }

    @Override
    public void sealRecord(long seq, byte contentType, ByteBuffer payload, ByteBuffer out) {
        int length = checkPayload(payload);
        checkRoom("out", out, recordLength(length));
        try {
            begin(seq, length);
            out.put(aad, 0, RECORD_HEADER_LENGTH);
            innerType.clear();
            innerType.put(0, contentType);
            aead.encryptContiguous(payload, innerType, out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " seal failed, seq " + seq, e);
        }
    }

    private void begin(long seq, int payloadLength) throws GeneralSecurityException {
        int ciphertextLength = payloadLength + TRAILER_LENGTH;
        aad[0] = APPLICATION_DATA;
        aad[1] = 3;
        aad[2] = 3;
        aad[3] = (byte) (ciphertextLength >>> 8);
        aad[4] = (byte) ciphertextLength;
        aead.init(Cipher.ENCRYPT_MODE, seq);
        aead.updateAad(aad, RECORD_HEADER_LENGTH);
    }

    @Override
    public byte open(long seq, ByteBuffer record, ByteBuffer plaintextOut)
            throws AEADBadTagException, TlsRecordException {
        if (aead.isClosed()) {
            throw new IllegalStateException("record cipher closed");
        }
        int start = record.position();
        if (record.remaining() < RECORD_HEADER_LENGTH) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "truncated record header: " + record.remaining() + " bytes");
        }
        byte outerType = record.get(start);
        int length = (record.get(start + 3) & 0xFF) << 8 | record.get(start + 4) & 0xFF;
        if (length > MAX_CIPHERTEXT_LENGTH) {
            throw new TlsRecordException(TlsRecordException.RECORD_OVERFLOW,
                    "record length " + length + " > " + MAX_CIPHERTEXT_LENGTH);
        }
        if (record.remaining() < RECORD_HEADER_LENGTH + length) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "truncated record: " + (record.remaining() - RECORD_HEADER_LENGTH) + " of " + length + " bytes");
        }
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
        if (plaintextOut.remaining() < innerLength) {
            throw new IllegalArgumentException("plaintextOut: " + plaintextOut.remaining()
                                               + " bytes of room (expected: >= " + innerLength + ")");
        }
        for (int i = 0; i < RECORD_HEADER_LENGTH; i++) {
            aad[i] = record.get(start + i);
        }
        ByteBuffer ciphertext = record.duplicate();
        ciphertext.limit(start + RECORD_HEADER_LENGTH + length).position(start + RECORD_HEADER_LENGTH);
        int outStart = plaintextOut.position();
        try {
            aead.init(Cipher.DECRYPT_MODE, seq);
            aead.updateAad(aad, RECORD_HEADER_LENGTH);
            aead.decrypt(ciphertext, plaintextOut);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " open failed, seq " + seq, e);
        }
        // RFC 8446 5.4: the content type is the last non-zero byte; zeros after it are padding.
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
        record.position(start + RECORD_HEADER_LENGTH + length);
        return contentType;
    }

    private static int checkPayload(ByteBuffer payload) {
        int length = payload.remaining();
        if (length > MAX_PAYLOAD_LENGTH) {
            throw new IllegalArgumentException("payload: " + length + " bytes (expected: <= "
                                               + MAX_PAYLOAD_LENGTH + ")");
        }
        return length;
    }

    static void checkRoom(String name, ByteBuffer buffer, int needed) {
        if (buffer.remaining() < needed) {
            throw new IllegalArgumentException(name + ": " + buffer.remaining() + " bytes of room (expected: >= "
                                               + needed + ")");
        }
    }

    @Override
    public void close() {
        aead.close();
    }

    RecordAead aeadForTest() {
        return aead;
    }

    @Override
    public String toString() {
        return "Tls13RecordCipher[" + suite + ", " + aead.providerName() + "]";
    }
}
