package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;

import javax.crypto.AEADBadTagException;
import java.nio.ByteBuffer;

/**
 * Seals or opens the TLS records of one direction of one connection with one AEAD key.
 *
 * <h2>Record layouts</h2>
 * <pre>
 * TLS 1.3 (RFC 8446 5.2)      : 23 | 03 03 | length | AEAD(content | type)                | tag(16)
 * TLS 1.2 AES-GCM (RFC 5288)  : type | 03 03 | length | explicit nonce(8) | AEAD(content)  | tag(16)
 * TLS 1.2 ChaCha20 (RFC 7905) : type | 03 03 | length | AEAD(content)                      | tag(16)
 *                               \_______________ header _______________/ \____ body ____/ \_ trailer _/
 * </pre>
 * {@link #seal} writes a record as three regions so that the ciphertext of a 16 KiB payload fills a 16 KiB buffer
 * exactly: <em>header</em> ({@link #headerLength()} bytes: the 5-byte record header, plus the explicit nonce in
 * TLS 1.2 AES-GCM), <em>body</em> (exactly as many bytes as the payload) and <em>trailer</em>
 * ({@link #trailerLength(int)} bytes: in TLS 1.3 the encrypted inner content type, then the tag). A record on
 * the wire is {@code header | body | trailer}, e.g. a {@code CompositeByteBuf} of the three, with no copy.
 *
 * <h2>Nonces</h2>
 * TLS 1.3 and TLS 1.2 ChaCha20-Poly1305: {@code iv XOR (0^32 || seq)}. TLS 1.2 AES-GCM: {@code salt || explicit},
 * where this implementation uses the sequence number as the explicit nonce (as BoringSSL and OpenSSL do) and
 * reads the peer's from the record. The caller owns the sequence numbers: it passes each number once per
 * direction, in order or not, and never wraps (rekey or close before 2^64, and in TLS 1.3 before the AEAD's
 * record limit).
 *
 * <h2>Threads</h2>
 * Not thread-safe: one thread at a time, e.g. the event loop or the offload worker a connection is pinned to.
 * A hand-off between threads goes through a queue or an executor, which orders it (happens-before).
 *
 * <h2>Errors</h2>
 * Misuse (buffers too small, payload too long, a closed cipher) throws {@link IllegalArgumentException} or
 * {@link IllegalStateException} before anything is written or the cipher touched. A provider failure while
 * sealing throws {@link IllegalStateException}: the connection must close. That includes a sequence number
 * sealed twice in a row (the providers refuse an encryption {@code init} repeating the previous nonce); an
 * earlier number sealed again is not detected here, so never reuse one.
 * Bad input while opening throws {@link AEADBadTagException} (alert bad_record_mac) or
 * {@link TlsRecordException} (which names the alert).
 */
public interface RecordCipher extends AutoCloseable {

    /** Content type change_cipher_spec(20). */
    byte CHANGE_CIPHER_SPEC = 20;
    /** Content type alert(21). */
    byte ALERT = 21;
    /** Content type handshake(22). */
    byte HANDSHAKE = 22;
    /** Content type application_data(23). */
    byte APPLICATION_DATA = 23;

    /** Length of the record header: type(1) | legacy version(2) | length(2). */
    int RECORD_HEADER_LENGTH = 5;
    /** 2^14: the largest plaintext a record may carry (RFC 8446 5.1, RFC 5246 6.2.1). */
    int MAX_PAYLOAD_LENGTH = 16384;

    /**
     * A cipher for {@code keys}' direction.
     *
     * @param suite    the negotiated suite; must equal {@code keys.suite()}
     * @param keys     copied: the keys may be closed once this returns
     * @param provider where the AEAD comes from, e.g. {@link AeadProviders#preferred(TlsCipherSuite)}
     */
    static RecordCipher create(TlsCipherSuite suite, TrafficKeys keys, AeadProvider provider) {
        if (suite != keys.suite()) {
            throw new IllegalArgumentException("suite: " + suite + " (expected: " + keys.suite()
                                               + ", the keys' suite)");
        }
        RecordAead aead = new RecordAead(suite, keys, provider);
        return suite.isTls13() ? new Tls13RecordCipher(suite, aead) : new Tls12RecordCipher(suite, aead);
    }

    /** A cipher for {@code keys}' direction, from the {@linkplain AeadProviders#preferred preferred} provider. */
    static RecordCipher create(TrafficKeys keys) {
        return create(keys.suite(), keys, AeadProviders.preferred(keys.suite()));
    }

    TlsCipherSuite suite();

    /** Name of the {@link AeadProvider} doing the work. */
    String providerName();

    /** Bytes {@link #seal} writes to {@code header}: 5, or 13 for TLS 1.2 AES-GCM (header + explicit nonce). */
    int headerLength();

    /** Bytes {@link #seal} writes to {@code trailer}: the tag (16), plus 1 in TLS 1.3 for the inner content type. */
    int trailerLength(int payloadLength);

    /** The record's length field for a payload: everything after the 5-byte record header. */
    int ciphertextLength(int payloadLength);

    /** The whole record's length: {@code headerLength() + payloadLength + trailerLength(payloadLength)}. */
    int recordLength(int payloadLength);

    /** 16384: the largest payload {@link #seal} accepts. */
    int maxPayloadLength();

    /**
     * The room {@link #open} needs in {@code plaintextOut} for a record whose length field is
     * {@code ciphertextLength}: the ciphertext minus tag and explicit nonce. In TLS 1.3 this includes the inner
     * content type and padding, which {@code open} then strips.
     */
    int maxOpenedLength(int ciphertextLength);

    /**
     * Seals one record into three regions.
     *
     * <p>Contract: {@code header} receives exactly {@link #headerLength()} bytes, {@code body} exactly
     * {@code payload.remaining()} bytes of ciphertext, {@code trailer} exactly
     * {@code trailerLength(payload.remaining())} bytes; each position advances by what was written, and
     * {@code payload}'s position moves to its limit. No other bytes are touched. {@code body} may be the very
     * memory of {@code payload} at the same position (in place); any other overlap is not allowed. Providers
     * that hold bytes back between {@code update} and {@code doFinal} are handled here: what belongs in the
     * body still lands in the body.
     *
     * @param seq         the record's sequence number
     * @param contentType the real content type (TLS 1.3 hides it inside the record, TLS 1.2 puts it in the header)
     * @param payload     at most {@link #maxPayloadLength()} bytes of plaintext, possibly none
     * @throws IllegalArgumentException when the payload is too long or a region lacks room
     * @throws IllegalStateException    when closed, or when the provider fails (close the connection)
     */
    void seal(long seq, byte contentType, ByteBuffer payload, ByteBuffer header, ByteBuffer body,
              ByteBuffer trailer);

    /**
     * Seals one record contiguously into {@code out}, which needs {@link #recordLength(int)} bytes of room and
     * advances by as much; for alerts, handshake messages and small records. {@code payload} and {@code out}
     * must not overlap.
     */
    void sealRecord(long seq, byte contentType, ByteBuffer payload, ByteBuffer out);

    /**
     * Opens (verifies and decrypts) the record at {@code record}'s position, header included.
     *
     * <p>On success: {@code record}'s position moves past the record (any following bytes stay),
     * {@code plaintextOut} receives the content (TLS 1.3 padding and content type stripped) and its position
     * advances by the content length only. {@code plaintextOut} needs {@link #maxOpenedLength(int)} bytes of room;
     * it may be the record's own memory at the ciphertext's position or before it, down to the record's header
     * (in place, moved down; the record is read before the plaintext is written). On failure no position moves
     * and no unauthenticated plaintext stays in {@code plaintextOut}.
     *
     * @return the content type: in TLS 1.3 the inner one, in TLS 1.2 the header's (alert, handshake or
     *         application_data)
     * @throws AEADBadTagException when the record does not authenticate (wrong key, sequence number or bytes):
     *                             send bad_record_mac
     * @throws TlsRecordException  when the record is malformed: record_overflow, unexpected_message (TLS 1.3
     *                             record without content type, or a content type that cannot be encrypted
     *                             here), decode_error (truncated), bad_record_mac (shorter than a tag)
     * @throws IllegalArgumentException when {@code plaintextOut} lacks room
     */
    byte open(long seq, ByteBuffer record, ByteBuffer plaintextOut) throws AEADBadTagException, TlsRecordException;

    /** Zeroes this cipher's copies of the key and IV; later calls throw {@link IllegalStateException}. */
    @Override
    void close();
}
