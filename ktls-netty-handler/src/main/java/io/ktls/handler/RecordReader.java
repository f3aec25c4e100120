package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import javax.crypto.AEADBadTagException;
import java.nio.ByteBuffer;

/**
 * The read side of the record layer: cuts the inbound byte stream into records, checks each header before
 * buffering its body (so an oversized length is refused at once with record_overflow), and opens each record
 * with the read {@link RecordCipher} at the next read sequence number.
 *
 * <h2>Zero copy</h2>
 * Records are opened in the memory they arrived in: the plaintext of each record is written over its own
 * header and ciphertext, moved down so that the plaintexts of consecutive application-data records of one read
 * lie side by side, and handed on as one slice of the read buffer ({@link Opened#plaintext}), one per read:
 * <pre>
 * read buffer : | h1 c1 t1 | h2 c2 t2 | h3 c3..        (h header, c ciphertext, t tag; record 3 cut short)
 * after       : | p1 p2 | (dead bytes)   | h3 c3..       one slice p1 p2 passed on; h3 c3.. copied into the
 *                                                        assembly buffer, completed from the next read
 * </pre>
 * Only a record cut by the end of a read is copied, once, into a buffer of exactly its length (the assembly),
 * which is then opened in place like a read. A control record (alert, handshake) ends a run: the run is
 * returned first, the control record at the next call, and nothing after it is opened before that call (a
 * KeyUpdate changes the key). A buffer whose memory is not provably its own and ours alone (shared, a view,
 * read-only, composite, or over memory somebody else keeps, see {@link ExclusiveMemory}) is copied once when
 * added.
 *
 * <p>Ownership: the input and assembly buffers are ours until {@link #close()}; each {@link Opened#plaintext} is
 * a retained slice owned by the receiver (it keeps the read buffer's memory alive until released). Event loop
 * only.
 */
final class RecordReader implements AutoCloseable {

    /** One opened record, or a run of application-data records: content type and plaintext (the receiver's). */
    static final class Opened {
        final byte contentType;
        final ByteBuf plaintext;

        Opened(byte contentType, ByteBuf plaintext) {
            this.contentType = contentType;
            this.plaintext = plaintext;
        }
    }

    /**
     * Empty records (of any type) in a row before the connection ends with unexpected_message: each costs an
     * AEAD open and moves nothing, so a peer could keep us busy for free. 32 is BoringSSL's
     * {@code kMaxEmptyRecords} (ssl/tls_record.cc); a record with content starts the count again.
     */
    static final int MAX_CONSECUTIVE_EMPTY_RECORDS = 32;

    private final ByteBufAllocator alloc;
    private final TlsCipherSuite suite;
    private final int maxCiphertextLength;
    private final KtlsStats stats;
    private RecordCipher cipher;
    private long sequence;
    private int consecutiveEmptyRecords;
    /** The read being opened, reader index at its next record; records of it are opened in place. */
    private ByteBuf input;
    /** A record cut by the end of a read: its first bytes, completed from the following reads. */
    private ByteBuf assembly;
    /** A control record opened after a run of application data: returned by the next call. */
    private Opened heldBack;
    /** A record that failed after a run of application data: thrown by the next call. */
    private TlsRecordException heldBackFailure;

    RecordReader(RecordCipher cipher, long readSequence, ByteBufAllocator alloc, KtlsStats stats) {
        this.stats = stats;
        this.cipher = cipher;
        this.suite = cipher.suite();
        this.sequence = readSequence;
        this.alloc = alloc;
        this.maxCiphertextLength = suite.isTls13()
                ? TlsRecords.MAX_TLS13_CIPHERTEXT_LENGTH : TlsRecords.MAX_TLS12_CIPHERTEXT_LENGTH;
    }

    /** Takes ownership of {@code in}. */
    void add(ByteBuf in) {
        if (!in.isReadable()) {
            in.release();
            return;
        }
        if (!isOwnedOutright(in)) {
            // Opening in place writes into the buffer: only into memory nobody else reads.
            in = copiedIntoOneRegion(in, null);
        }
        if (input == null) {
            input = in;
        } else {
            // Only while nothing is opened (during the takeover, or after stop()): rare, so simply merged, into
            // one region, as records are opened in place there.
            ByteBuf previous = input;
            input = null;
            input = copiedIntoOneRegion(previous, in);
        }
    }

    /**
     * A new buffer of one region ({@link ContiguousMemory}) holding {@code first}'s readable bytes, then
     * {@code second}'s ({@code null}: none). Takes both: they are released whatever happens, and so is the copy
     * when copying fails.
     */
    private ByteBuf copiedIntoOneRegion(ByteBuf first, ByteBuf second) {
        ByteBuf copy = null;
        try {
            copy = ContiguousMemory.ioBuffer(alloc,
                    first.readableBytes() + (second == null ? 0 : second.readableBytes()));
            copy.writeBytes(first);
            if (second != null) {
                copy.writeBytes(second);
            }
            ByteBuf result = copy;
            copy = null;
            return result;
        } finally {
            if (copy != null) {
                copy.release();
            }
            first.release();
            if (second != null) {
                second.release();
            }
        }
    }

    /**
     * A buffer we may decrypt where it lies: memory that provably belongs to it alone ({@link ExclusiveMemory}:
     * made by an allocator we know, not a view, held by nobody else), in one NIO buffer. What a transport reads
     * into comes from the channel's allocator and qualifies; a buffer over somebody else's memory is copied.
     */
    private static boolean isOwnedOutright(ByteBuf buf) {
        return ExclusiveMemory.isExclusive(buf);
    }

    /** Bytes received but not yet part of an opened record (a record cut short, if the stream ends now). */
    int bufferedBytes() {
        return (input == null ? 0 : input.readableBytes()) + (assembly == null ? 0 : assembly.readableBytes());
    }

    long sequence() {
        return sequence;
    }

    /**
     * The next opened record, or run of consecutive application-data records from one read (zero-length ones
     * dropped); {@code null} until a whole record is buffered.
     *
     * @throws TlsRecordException with the alert to send: protocol_version (a header of another version),
     *                            record_overflow, unexpected_message (including more than
     *                            {@link #MAX_CONSECUTIVE_EMPTY_RECORDS} empty records in a row), decode_error or
     *                            bad_record_mac (a record that does not authenticate)
     */
    Opened next() throws TlsRecordException {
        for (;;) {
            if (heldBack != null) {
                Opened control = heldBack;
                heldBack = null;
                return control;
            }
            if (heldBackFailure != null) {
                TlsRecordException failure = heldBackFailure;
                heldBackFailure = null;
                throw failure;
            }
            if (assembly != null) {
                if (input == null || !fillAssembly()) {
                    return null;
                }
                ByteBuf record = assembly;
                assembly = null;
                try {
                    Opened opened = openRun(record);
                    if (opened != null) {
                        return opened;
                    }
                    continue; // a zero-length record
                } finally {
                    record.release();
                }
            }
            if (input == null) {
                return null;
            }
            Opened opened = openRun(input);
            if (opened != null) {
                if (!input.isReadable()) {
                    // Released as soon as it is used up (the slices keep its memory): the connection may end
                    // before another call.
                    input.release();
                    input = null;
                }
                return opened;
            }
            // No whole record left in the read: its tail (if any) waits for the next read in a buffer of its own.
            ByteBuf in = input;
            input = null;
            try {
                if (in.isReadable()) {
                    int readable = in.readableBytes();
                    int capacity = readable >= TlsRecords.HEADER_LENGTH
                            ? checkHeader(in, in.readerIndex()) : TlsRecords.HEADER_LENGTH;
                    assembly = ContiguousMemory.ioBuffer(alloc, capacity).writeBytes(in);
                }
            } finally {
                in.release();
            }
            return null;
        }
    }

    /** Copies bytes of {@link #input} into {@link #assembly}; whether it now holds a whole record. */
    private boolean fillAssembly() throws TlsRecordException {
        ByteBuf a = assembly;
        ByteBuf in = input;
        try {
            if (a.readableBytes() < TlsRecords.HEADER_LENGTH) {
                a.writeBytes(in, Math.min(TlsRecords.HEADER_LENGTH - a.readableBytes(), in.readableBytes()));
                if (a.readableBytes() < TlsRecords.HEADER_LENGTH) {
                    return false;
                }
            }
            int recordLength = checkHeader(a, a.readerIndex());
            int missing = recordLength - a.readableBytes();
            a.ensureWritable(missing);
            a.writeBytes(in, Math.min(missing, in.readableBytes()));
            return a.readableBytes() == recordLength;
        } finally {
            if (!in.isReadable()) {
                input = null;
                in.release();
            }
        }
    }

    /**
     * Checks the header at {@code start} (at least {@link TlsRecords#HEADER_LENGTH} readable bytes); returns the
     * whole record's length.
     */
    private int checkHeader(ByteBuf in, int start) throws TlsRecordException {
        int outerType = in.getUnsignedByte(start);
        int length = in.getUnsignedShort(start + 3);
        int version = in.getUnsignedShort(start + 1);
        if (version != TlsRecords.RECORD_VERSION) {
            // Both bytes: TLS 1.2 and TLS 1.3 (legacy_record_version) records both say 0x0303 once keys are in
            // use; BoringSSL answers anything else with protocol_version too.
            throw new TlsRecordException(TlsRecordException.PROTOCOL_VERSION,
                    "record version 0x" + Integer.toHexString(version) + " (expected: 0x0303)");
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
        return TlsRecords.HEADER_LENGTH + length;
    }

    /**
     * Opens the whole records at {@code buf}'s reader index, in place: application data moved together into one
     * run, returned as a retained slice, ended by the first control record (returned itself, or held back when
     * a run precedes it) or failure (thrown, or held back when a run precedes it). {@code null} when no whole
     * record carried any byte.
     */
    private Opened openRun(ByteBuf buf) throws TlsRecordException {
        int runStart = -1;
        int runEnd = -1;
        while (buf.readableBytes() >= TlsRecords.HEADER_LENGTH) {
            int start = buf.readerIndex();
            int recordLength;
            int outIndex = runStart < 0 ? start : runEnd;
            byte type;
            int length;
            try {
                recordLength = checkHeader(buf, start);
                if (buf.readableBytes() < recordLength) {
                    break;
                }
                // One view from the plaintext's place to the record's end: plaintext at 0, the record after it.
                // A buffer of one NIO buffer (add() and ContiguousMemory made sure) shares its memory with the view
                // in every Netty implementation, so the plaintext lands in buf.
                ByteBuffer region = buf.nioBuffer(outIndex, start + recordLength - outIndex);
                ByteBuffer record = region.duplicate();
                record.position(start - outIndex);
                type = cipher.open(sequence, record, region);
                length = region.position();
            } catch (AEADBadTagException e) {
                stats.corruptRecord();
                TlsRecordException failure = new TlsRecordException(TlsRecordException.BAD_RECORD_MAC,
                        "record " + sequence + " failed authentication");
                failure.initCause(e);
                return failAfter(buf, runStart, runEnd, failure);
            } catch (TlsRecordException e) {
                stats.corruptRecord();
                return failAfter(buf, runStart, runEnd, e);
            }
            sequence++;
            buf.skipBytes(recordLength);
            stats.recordOpened(suite, length);
            if (length > 0) {
                consecutiveEmptyRecords = 0;
            } else if (++consecutiveEmptyRecords > MAX_CONSECUTIVE_EMPTY_RECORDS) {
                stats.emptyRecordFloodRefused();
                return failAfter(buf, runStart, runEnd, new TlsRecordException(
                        TlsRecordException.UNEXPECTED_MESSAGE,
                        "more than " + MAX_CONSECUTIVE_EMPTY_RECORDS + " empty records in a row"));
            }
            if (type == TlsRecords.APPLICATION_DATA) {
                if (runStart < 0) {
                    runStart = start;
                }
                runEnd = outIndex + length;
                continue;
            }
            Opened control = new Opened(type, buf.retainedSlice(outIndex, length));
            if (runEnd > runStart) {
                heldBack = control;
                break;
            }
            return control;
        }
        return runEnd > runStart
                ? new Opened(TlsRecords.APPLICATION_DATA, buf.retainedSlice(runStart, runEnd - runStart)) : null;
    }

    private Opened failAfter(ByteBuf buf, int runStart, int runEnd, TlsRecordException failure)
            throws TlsRecordException {
        if (runEnd > runStart) {
            heldBackFailure = failure;
            return new Opened(TlsRecords.APPLICATION_DATA, buf.retainedSlice(runStart, runEnd - runStart));
        }
        throw failure;
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
        if (input != null) {
            input.release();
            input = null;
        }
        if (assembly != null) {
            assembly.release();
            assembly = null;
        }
        if (heldBack != null) {
            heldBack.plaintext.release();
            heldBack = null;
        }
        heldBackFailure = null;
        if (cipher != null) {
            cipher.close();
            cipher = null;
        }
    }
}
