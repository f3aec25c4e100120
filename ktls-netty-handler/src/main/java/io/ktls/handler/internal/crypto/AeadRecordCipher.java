package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

/**
 * What the TLS 1.3 and TLS 1.2 record layouts share: one {@link RecordAead}, a record of
 * {@code header | body | trailer} with a 16-byte tag, and the steps of sealing and opening. The subclasses
 * own what differs between the versions: the header and additional data, where the content type goes, the
 * nonce, the checks on an incoming record's type and lengths, and (TLS 1.3) the stripping of padding.
 *
 * <p>Sealing, in {@link #seal} and {@link #sealRecord}:
 * <ol>
 *   <li>refuse a payload over 2^14 bytes or a destination without room, before anything is written;</li>
 *   <li>{@link #fillSealHeader}: the subclass writes the record header and the additional data;</li>
 *   <li>start the AEAD with the sequence number and the additional data, copy the header out, and encrypt
 *       the payload followed by {@link #innerContentType} (TLS 1.3 only) into body and trailer.</li>
 * </ol>
 * Opening, in {@link #open}:
 * <ol>
 *   <li>read the 5-byte header and refuse a truncated record or a length field over the version's limit;</li>
 *   <li>{@link #checkOpenedLength}: the subclass checks the outer type and the length, and returns the room
 *       the plaintext needs;</li>
 *   <li>{@link #fillOpenAad} and {@link #openNonce}: the additional data and the nonce of this record;</li>
 *   <li>decrypt what follows the header (and the explicit nonce), then {@link #contentType}: the record's
 *       content type (TLS 1.3: found, and padding stripped, in the plaintext).</li>
 * </ol>
 *
 * <p>Threads: see {@link RecordCipher}.
 */
abstract class AeadRecordCipher implements RecordCipher {

    static final int TAG_LENGTH = 16;

    final TlsCipherSuite suite;
    final RecordAead aead;
    /** Additional data of the record being sealed or opened; its whole length is passed to the AEAD. */
    final byte[] aad;
    private final int headerLength;
    private final int trailerLength;
    private final int maxCiphertextLength;

    /**
     * @param aadLength           bytes of additional data per record
     * @param headerLength        bytes before the body: the record header and any explicit nonce
     * @param trailerLength       bytes after the body: the tag and any encrypted inner content type
     * @param maxCiphertextLength the largest length field the version allows
     */
    AeadRecordCipher(TlsCipherSuite suite, RecordAead aead, int aadLength, int headerLength, int trailerLength,
                     int maxCiphertextLength) {
        this.suite = suite;
        this.aead = aead;
        this.aad = new byte[aadLength];
        this.headerLength = headerLength;
        this.trailerLength = trailerLength;
        this.maxCiphertextLength = maxCiphertextLength;
    }

    /**
     * Fills the header of a record about to be sealed and {@link #aad}, and returns the array whose first
     * {@link #headerLength()} bytes are the header.
     */
    abstract byte[] fillSealHeader(long seq, byte contentType, int payloadLength);

    /** What is encrypted after the payload (TLS 1.3: the real content type), or {@code null} for nothing. */
    abstract ByteBuffer innerContentType(byte contentType);

    /**
     * Checks an incoming record's outer type and its length field {@code length} (already known to be at most
     * the version's limit, and present in full), and returns the bytes of room its plaintext needs.
     */
    abstract int checkOpenedLength(byte outerType, int length) throws TlsRecordException;

    /** Fills {@link #aad} for the record at {@code start}, whose content is {@code openedLength} bytes. */
    abstract void fillOpenAad(long seq, ByteBuffer record, int start, int openedLength);

    /** The nonce value of the record at {@code start}: the sequence number, or the explicit nonce it carries. */
    abstract long openNonce(long seq, ByteBuffer record, int start);

    /**
     * The content type of the record just decrypted into {@code plaintextOut} from {@code outStart}; may move
     * {@code plaintextOut}'s position back to the end of the content.
     */
    abstract byte contentType(byte outerType, ByteBuffer plaintextOut, int outStart, int openedLength)
            throws TlsRecordException;

    @Override
    public final TlsCipherSuite suite() {
        return suite;
    }

    @Override
    public final String providerName() {
        return aead.providerName();
    }

    @Override
    public final int headerLength() {
        return headerLength;
    }

    @Override
    public final int trailerLength(int payloadLength) {
        return trailerLength;
    }

    @Override
    public final int ciphertextLength(int payloadLength) {
        return headerLength - RECORD_HEADER_LENGTH + payloadLength + trailerLength;
    }

    @Override
    public final int recordLength(int payloadLength) {
        return headerLength + payloadLength + trailerLength;
    }

    @Override
    public final int maxPayloadLength() {
        return MAX_PAYLOAD_LENGTH;
    }

    @Override
    public final void seal(long seq, byte contentType, ByteBuffer payload, ByteBuffer header, ByteBuffer body,
                           ByteBuffer trailer) {
        int length = checkPayload(payload);
        checkRoom("header", header, headerLength);
        checkRoom("body", body, length);
        checkRoom("trailer", trailer, trailerLength);
        try {
            header.put(beginSeal(seq, contentType, length), 0, headerLength);
            aead.encrypt(payload, body, innerContentType(contentType), trailer);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " seal failed, seq " + seq, e);
        }
    }

    @Override
    public final void sealRecord(long seq, byte contentType, ByteBuffer payload, ByteBuffer out) {
        int length = checkPayload(payload);
        checkRoom("out", out, recordLength(length));
        try {
            out.put(beginSeal(seq, contentType, length), 0, headerLength);
            aead.encryptContiguous(payload, innerContentType(contentType), out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " seal failed, seq " + seq, e);
        }
    }

    /** Fills header and additional data, and starts the AEAD; returns the header. */
    private byte[] beginSeal(long seq, byte contentType, int payloadLength) throws GeneralSecurityException {
        byte[] header = fillSealHeader(seq, contentType, payloadLength);
        aead.init(Cipher.ENCRYPT_MODE, seq);
        aead.updateAad(aad, aad.length);
        return header;
    }

    @Override
    public final byte open(long seq, ByteBuffer record, ByteBuffer plaintextOut)
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
        if (length > maxCiphertextLength) {
            throw new TlsRecordException(TlsRecordException.RECORD_OVERFLOW,
                    "record length " + length + " > " + maxCiphertextLength);
        }
        if (record.remaining() < RECORD_HEADER_LENGTH + length) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "truncated record: " + (record.remaining() - RECORD_HEADER_LENGTH) + " of " + length + " bytes");
        }
        int openedLength = checkOpenedLength(outerType, length);
        if (plaintextOut.remaining() < openedLength) {
            throw new IllegalArgumentException("plaintextOut: " + plaintextOut.remaining()
                                               + " bytes of room (expected: >= " + openedLength + ")");
        }
        long nonceValue = openNonce(seq, record, start);
        fillOpenAad(seq, record, start, openedLength);
        ByteBuffer ciphertext = record.duplicate();
        ciphertext.limit(start + RECORD_HEADER_LENGTH + length).position(start + headerLength);
        int outStart = plaintextOut.position();
        try {
            aead.init(Cipher.DECRYPT_MODE, nonceValue);
            aead.updateAad(aad, aad.length);
            aead.decrypt(ciphertext, plaintextOut);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(suite + " open failed, seq " + seq, e);
        }
        byte contentType = contentType(outerType, plaintextOut, outStart, openedLength);
        record.position(start + RECORD_HEADER_LENGTH + length);
        return contentType;
    }

    /** Writes type | 03 03 | length, the record header both versions send. */
    static void putRecordHeader(byte[] dst, byte contentType, int ciphertextLength) {
        dst[0] = contentType;
        dst[1] = 3;
        dst[2] = 3;
        dst[3] = (byte) (ciphertextLength >>> 8);
        dst[4] = (byte) ciphertextLength;
    }

    private static int checkPayload(ByteBuffer payload) {
        int length = payload.remaining();
        if (length > MAX_PAYLOAD_LENGTH) {
            throw new IllegalArgumentException("payload: " + length + " bytes (expected: <= "
                                               + MAX_PAYLOAD_LENGTH + ")");
        }
        return length;
    }

    private static void checkRoom(String name, ByteBuffer buffer, int needed) {
        if (buffer.remaining() < needed) {
            throw new IllegalArgumentException(name + ": " + buffer.remaining() + " bytes of room (expected: >= "
                                               + needed + ")");
        }
    }

    @Override
    public final void close() {
        aead.close();
    }

    final RecordAead aeadForTest() {
        return aead;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + suite + ", " + aead.providerName() + "]";
    }
}
