package io.ktls.handler;

import io.ktls.handler.crypto.RecordCipher;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;

import javax.crypto.AEADBadTagException;
import java.nio.ByteBuffer;

/**
 * The read side of the record layer: cuts the inbound byte stream into records, checks each header before
 * buffering its body (so an oversized length is refused at once with record_overflow), and opens each record
 * with the read {@link RecordCipher} at the next read sequence number.
 *
 * <p>Ownership: the cumulation is ours until {@link #close()}; each opened record's plaintext is a new buffer
 * handed to the caller. Event loop only.
 */
final class RecordReader implements AutoCloseable {

    /** One opened record: its real content type and plaintext, owned by the receiver. */
    static final class Opened {
        final byte contentType;
        final ByteBuf plaintext;

        Opened(byte contentType, ByteBuf plaintext) {
            this.contentType = contentType;
            this.plaintext = plaintext;
        }
    }

    private final ByteBufAllocator alloc;
    private final TlsCipherSuite suite;
    private final int maxCiphertextLength;
    private RecordCipher cipher;
    private long sequence;
    private ByteBuf cumulation;

    RecordReader(RecordCipher cipher, long readSequence, ByteBufAllocator alloc) {
        this.cipher = cipher;
        this.suite = cipher.suite();
        this.sequence = readSequence;
        this.alloc = alloc;
        this.maxCiphertextLength = suite.isTls13()
                ? TlsRecords.MAX_TLS13_CIPHERTEXT_LENGTH : TlsRecords.MAX_TLS12_CIPHERTEXT_LENGTH;
    }

    /** Takes ownership of {@code in}. */
    void add(ByteBuf in) {
        if (cumulation == null) {
            cumulation = in;
        } else {
            cumulation = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(alloc, cumulation, in);
        }
    }

    /** Bytes received but not yet part of an opened record (a record cut short, if the stream ends now). */
    int bufferedBytes() {
        return cumulation == null ? 0 : cumulation.readableBytes();
    }

    long sequence() {
        return sequence;
    }

    /**
     * The next record, opened; {@code null} until a whole record is buffered.
     *
     * @throws TlsRecordException with the alert to send: record_overflow, unexpected_message, decode_error or
     *                            bad_record_mac (a record that does not authenticate)
     */
    Opened next() throws TlsRecordException {
        ByteBuf in = cumulation;
        if (in == null || in.readableBytes() < TlsRecords.HEADER_LENGTH) {
            return null;
        }
        int start = in.readerIndex();
        int outerType = in.getUnsignedByte(start);
        int length = in.getUnsignedShort(start + 3);
        if (in.getUnsignedByte(start + 1) != 3) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "not a TLS record: version byte 0x" + Integer.toHexString(in.getUnsignedByte(start + 1)));
        }
        if (suite.isTls13() ? outerType != TlsRecords.APPLICATION_DATA
                : outerType < TlsRecords.ALERT || outerType > TlsRecords.APPLICATION_DATA) {
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                    "unexpected record type " + outerType + " after the handshake");
        }
        if (length > maxCiphertextLength) {
            throw new TlsRecordException(TlsRecordException.RECORD_OVERFLOW,
                    "record length " + length + " (expected: <= " + maxCiphertextLength + ')');
        }
        int recordLength = TlsRecords.HEADER_LENGTH + length;
        if (in.readableBytes() < recordLength) {
            return null;
        }
        ByteBuf plaintext = alloc.buffer(Math.max(cipher.maxOpenedLength(length), 0));
        try {
            ByteBuffer record = in.nioBuffer(start, recordLength);
            ByteBuffer out = plaintext.nioBuffer(0, plaintext.capacity());
            byte type = cipher.open(sequence, record, out);
            plaintext.writerIndex(out.position());
            sequence++;
            in.skipBytes(recordLength);
            if (!in.isReadable()) {
                cumulation = null;
                in.release();
            }
            KtlsStats.GLOBAL.recordOpened(suite, plaintext.readableBytes());
            Opened opened = new Opened(type, plaintext);
            plaintext = null;
            return opened;
        } catch (AEADBadTagException e) {
            KtlsStats.GLOBAL.corruptRecord();
            TlsRecordException failure = new TlsRecordException(TlsRecordException.BAD_RECORD_MAC,
                    "record " + sequence + " failed authentication");
            failure.initCause(e);
            throw failure;
        } catch (TlsRecordException e) {
            KtlsStats.GLOBAL.corruptRecord();
            throw e;
        } finally {
            if (plaintext != null) {
                plaintext.release();
            }
        }
    }

    /** TLS 1.3 KeyUpdate from the peer: the next record is the new key's record 0. */
    void rekey(RecordCipher next) {
        RecordCipher old = cipher;
        cipher = next;
        sequence = 0;
        old.close();
    }

    /** Releases the buffered bytes and zeroes the read key. Idempotent. */
    @Override
    public void close() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
        if (cipher != null) {
            cipher.close();
            cipher = null;
        }
    }
}
