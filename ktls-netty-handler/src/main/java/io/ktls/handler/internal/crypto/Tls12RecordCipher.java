package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

import static io.ktls.handler.internal.crypto.Tls13RecordCipher.checkRoom;

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
final class Tls12RecordCipher implements RecordCipher {

    /** RFC 5246 6.2.3: "The length MUST NOT exceed 2^14 + 2048". */
    private static final int MAX_CIPHERTEXT_LENGTH = MAX_PAYLOAD_LENGTH + 2048;
    private static final int TAG_LENGTH = 16;
    private static final int AAD_LENGTH = 13;

    private final TlsCipherSuite suite;
    private final RecordAead aead;
    private final int explicitNonceLength;
    private final int headerLength;
    private final byte[] aad = new byte[AAD_LENGTH];
    private final byte[] header = new byte[RECORD_HEADER_LENGTH + 8];

    Tls12RecordCipher(TlsCipherSuite suite, RecordAead aead) {
        this.suite = suite;
        this.aead = aead;
        this.explicitNonceLength = suite.explicitNonceLength();
        this.headerLength = RECORD_HEADER_LENGTH + explicitNonceLength;
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
        return headerLength;
    }

    @Override
    public int trailerLength(int payloadLength) {
        return TAG_LENGTH;
    }

    @Override
    public int ciphertextLength(int payloadLength) {
        return explicitNonceLength + payloadLength + TAG_LENGTH;
    }

    @Override
    public int recordLength(int payloadLength) {
        return headerLength + payloadLength + TAG_LENGTH;
    }

    @Override
    public int maxPayloadLength() {
        return MAX_PAYLOAD_LENGTH;
    }

    @Override
    public int maxOpenedLength(int ciphertextLength) {
        return Math.max(0, ciphertextLength - explicitNonceLength - TAG_LENGTH);
    }

    @Override
    public void seal(long seq, byte contentType, ByteBuffer payload, ByteBuffer header, ByteBuffer body,
                     ByteBuffer trailer) {
        int length = checkPayload(payload);
        checkRoom("header", header, headerLength);
        checkRoom("body", body, length);
        checkRoom("trailer", trailer, TAG_LENGTH);
        try {
            begin(seq, contentType, length);
            header.put(this.header, 0, headerLength);
            aead.encrypt(payload, body, null, trailer);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " seal failed, seq " + seq, e);
        }
    }

    @Override
    public void sealRecord(long seq, byte contentType, ByteBuffer payload, ByteBuffer out) {
        int length = checkPayload(payload);
        checkRoom("out", out, recordLength(length));
        try {
            begin(seq, contentType, length);
            out.put(this.header, 0, headerLength);
            aead.encryptContiguous(payload, null, out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " seal failed, seq " + seq, e);
        }
    }

    /** Fills {@link #header} (with the explicit nonce) and {@link #aad}, and starts the AEAD. */
    private void begin(long seq, byte contentType, int payloadLength) throws GeneralSecurityException {
        int ciphertextLength = explicitNonceLength + payloadLength + TAG_LENGTH;
        byte[] h = header;
        h[0] = contentType;
        h[1] = 3;
        h[2] = 3;
        h[3] = (byte) (ciphertextLength >>> 8);
        h[4] = (byte) ciphertextLength;
        if (explicitNonceLength > 0) {
            putLong(h, RECORD_HEADER_LENGTH, seq);
        }
        fillAad(seq, contentType, (byte) 3, (byte) 3, payloadLength);
        aead.init(Cipher.ENCRYPT_MODE, seq);
        aead.updateAad(aad, AAD_LENGTH);
    }

    private void fillAad(long seq, byte contentType, byte versionMajor, byte versionMinor, int payloadLength) {
        putLong(aad, 0, seq);
        aad[8] = contentType;
        aad[9] = versionMajor;
        aad[10] = versionMinor;
        aad[11] = (byte) (payloadLength >>> 8);
        aad[12] = (byte) payloadLength;
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
        byte contentType = record.get(start);
        int length = (record.get(start + 3) & 0xFF) << 8 | record.get(start + 4) & 0xFF;
        if (length > MAX_CIPHERTEXT_LENGTH) {
            throw new TlsRecordException(TlsRecordException.RECORD_OVERFLOW,
                    "record length " + length + " > " + MAX_CIPHERTEXT_LENGTH);
        }
        if (record.remaining() < RECORD_HEADER_LENGTH + length) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "truncated record: " + (record.remaining() - RECORD_HEADER_LENGTH) + " of " + length + " bytes");
        }
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
        if (plaintextOut.remaining() < payloadLength) {
            throw new IllegalArgumentException("plaintextOut: " + plaintextOut.remaining()
                                               + " bytes of room (expected: >= " + payloadLength + ")");
        }
        long nonceValue = seq;
        if (explicitNonceLength > 0) {
            nonceValue = 0;
            for (int i = 0; i < 8; i++) {
                nonceValue = nonceValue << 8 | record.get(start + RECORD_HEADER_LENGTH + i) & 0xFF;
            }
        }
        fillAad(seq, contentType, record.get(start + 1), record.get(start + 2), payloadLength);
        ByteBuffer ciphertext = record.duplicate();
        ciphertext.limit(start + RECORD_HEADER_LENGTH + length).position(start + headerLength);
        try {
            aead.init(Cipher.DECRYPT_MODE, nonceValue);
            aead.updateAad(aad, AAD_LENGTH);
            aead.decrypt(ciphertext, plaintextOut);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " open failed, seq " + seq, e);
        }
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

    private static void putLong(byte[] dst, int offset, long value) {
        for (int i = 0; i < 8; i++) {
            dst[offset + i] = (byte) (value >>> (56 - 8 * i));
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
        return "Tls12RecordCipher[" + suite + ", " + aead.providerName() + "]";
    }
}
