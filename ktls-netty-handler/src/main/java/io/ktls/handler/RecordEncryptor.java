package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Encrypts the records of one connection's write direction: gathers a record's plaintext, seals it with the write
 * {@link RecordCipher} and builds the output {@code header | body | trailer}, with no copy between sealing and the
 * socket.
 *
 * <p>Memory: a record that takes no more memory whole than its body would alone ({@link #fitsOneBuffer}: a full
 * record of the default 16,362-byte payload is 16 KiB, one 4-page run) is one buffer from the channel's
 * allocator. Otherwise the body is a buffer of exactly the payload's length (a 16 KiB payload fills a 16 KiB run
 * of a page-run allocator), header and trailer share one small buffer, and a read-only composite of the three
 * goes to the transport. With a page-run allocator none of them is sampled by the leak detector below
 * {@code PARANOID} (see {@link #outputBuffer}). A record whose payload is one slice of a caller's buffer that we
 * own outright ({@link OutboundRecord#inPlace}) is sealed in place and that slice is the body. Any other lone
 * piece is sealed from where it lies (a buffer's memory, a file's shared mapping) into the body; file data read
 * with {@code pread} and coalesced pieces are first gathered into the body, then sealed in place there: file
 * pages are never encrypted where they lie. File bytes come from the direction's {@link FileSource}.
 *
 * <p>Threads: owns the write {@link RecordCipher} and the {@link FileSource}, which only the sealing thread
 * touches (the event loop for {@link InlineRecordSealer}, the pinned worker for {@link OffloadRecordSealer}); a
 * KeyUpdate record carries the next cipher, swapped in right after that record is sealed, so the swap follows
 * the records' submission order.
 *
 * <p>Failure: the first record that fails (crypto, file, anything) closes the write cipher for good, and every
 * record after it fails unsealed; {@link OutboundRecord#failUnsealed} is the one way a record fails here (and
 * {@link OutboundRecord#sealedThenRefused} for a record whose file lost the bytes copied). Its sequence
 * number may be spent, and after a failed KeyUpdate the old key would otherwise seal records numbered from 0 for
 * the new key, repeating nonces; the connection is closing anyway. Both sealers go through here, so inline and
 * offloaded sealing behave alike.
 */
final class RecordEncryptor implements AutoCloseable {

    private final ByteBufAllocator alloc;
    /** {@link #alloc} when it is a page-run allocator, whose internal buffers skip the sampled leak detector. */
    private final PageRunAllocator pageRuns;
    private final KtlsStats stats;
    private final TlsCipherSuite suite;
    private final FileSource files = new FileSource();
    private RecordCipher cipher;
    /** The first seal failure: from then on nothing is sealed (the write cipher is already closed). */
    private Throwable poisonedBy;

    RecordEncryptor(RecordCipher cipher, ByteBufAllocator alloc, KtlsStats stats) {
        this.cipher = cipher;
        this.suite = cipher.suite();
        this.alloc = alloc;
        this.pageRuns = alloc instanceof PageRunAllocator ? (PageRunAllocator) alloc : null;
        this.stats = stats;
    }

    /**
     * Seals {@code records}, in order: on return each is SEALED (with an output) or FAILED (with a cause). The
     * files the run's records were copied from out of mappings are checked once, after the last copy
     * ({@link FileSource#checkAfterCopy}): a file truncated meanwhile fails every record of the run that was
     * sealed, none of which has left yet. One check per run, not per record: it is a system call, and a run is
     * mostly many records of one file.
     */
    void seal(List<OutboundRecord> records) {
        for (int i = 0, n = records.size(); i < n; i++) {
            sealOne(records.get(i));
        }
        try {
            files.checkAfterCopy();
        } catch (Throwable cause) {
            for (int i = 0, n = records.size(); i < n; i++) {
                OutboundRecord record = records.get(i);
                if (record.state == OutboundRecord.State.SEALED) {
                    record.sealedThenRefused(cause);
                }
            }
            poison(cause);
        }
        for (int i = 0, n = records.size(); i < n; i++) {
            records.get(i).releasePlaintext();
        }
    }

    /**
     * Seals {@code record} and keeps its plaintext (a file region's channel is what the check after the run reads).
     */
    private void sealOne(OutboundRecord record) {
        ByteBuf frame = null;
        ByteBuf body = null;
        try {
            RecordCipher c = cipher;
            if (c == null) {
                throw poisonedBy != null
                        ? new IllegalStateException("write direction failed at an earlier record: nothing more is"
                                + " sealed", poisonedBy)
                        : new IllegalStateException("write keys closed");
            }
            int payloadLength = record.payloadLength;
            int headerLength = c.headerLength();
            int trailerLength = c.trailerLength(payloadLength);
            int recordLength = headerLength + payloadLength + trailerLength;
            if (!record.inPlace && fitsOneBuffer(payloadLength, recordLength)) {
                // header | body | trailer in one buffer no larger than the body alone would take: one buffer
                // to allocate, hand to the transport and free, with no composite around it.
                body = outputBuffer(recordLength);
                ByteBuffer payload = gather(record, body, headerLength);
                c.seal(record.sequence, record.contentType, payload, body.nioBuffer(0, headerLength),
                        body.nioBuffer(headerLength, payloadLength),
                        body.nioBuffer(headerLength + payloadLength, trailerLength));
                body.writerIndex(recordLength);
                record.output = body;
                body = null;
                stats.sealedSeparate();
                finishSealed(record, c, payloadLength);
                return;
            }
            frame = outputBuffer(headerLength + trailerLength);
            ByteBuffer header = frame.nioBuffer(0, headerLength);
            ByteBuffer trailer = frame.nioBuffer(headerLength, trailerLength);
            if (record.inPlace) {
                // The record's one piece is a slice we own outright: it becomes the body, ciphertext over plaintext.
                body = ((RecordPiece.BufferPiece) record.pieces.get(0)).bytes;
                record.pieces.clear();
                c.seal(record.sequence, record.contentType, body.nioBuffer(), header,
                        body.nioBuffer(), trailer);
                stats.sealedInPlace();
            } else {
                body = outputBuffer(payloadLength);
                ByteBuffer payload = gather(record, body, 0);
                c.seal(record.sequence, record.contentType, payload, header, body.nioBuffer(0, payloadLength),
                        trailer);
                body.writerIndex(payloadLength);
                stats.sealedSeparate();
            }
            frame.writerIndex(headerLength + trailerLength);
            // A fixed, read-only composite: the cheapest of Netty's composites, and the transport gathers its
            // three parts into one writev.
            record.output = Unpooled.wrappedUnmodifiableBuffer(frame.retainedSlice(0, headerLength), body,
                    frame.retainedSlice(headerLength, trailerLength));
            body = null;
            finishSealed(record, c, payloadLength);
        } catch (Throwable cause) {
            if (body != null) {
                body.release();
            }
            poison(cause);
            record.failUnsealed(cause);
        } finally {
            if (frame != null) {
                frame.release();
            }
        }
    }

    /**
     * Output memory of exactly {@code length} bytes, in one region: the cipher writes through its NIO view
     * ({@link ContiguousMemory}). A record's buffers never leave the handler and the transport: with a page-run
     * allocator they are {@linkplain PageRunAllocator#internalDirectBuffer internal} buffers, which are never
     * composites and which the leak detector tracks only at {@code PARANOID}, so no record pays for a sampled
     * stack trace.
     */
    private ByteBuf outputBuffer(int length) {
        return ContiguousMemory.require(pageRuns != null ? pageRuns.internalDirectBuffer(length, length)
                : alloc.directBuffer(length, length), alloc);
    }

    private void finishSealed(OutboundRecord record, RecordCipher c, int payloadLength) {
        stats.recordsSealed(suite, payloadLength);
        if (record.nextCipher != null) {
            c.close();
            cipher = record.nextCipher;
        }
        record.state = OutboundRecord.State.SEALED;
    }

    /**
     * Whether a whole record takes no more of a page-run allocator's memory than its body and its header/trailer
     * buffer would ({@link PageRunAllocator#regionBytes}). A full 16 KiB payload does not (its header and trailer
     * would take a fifth page) and keeps the composite; a small record (one fragment instead of two), or a payload
     * short of a page boundary by the record's overhead, goes out as one buffer.
     */
    static boolean fitsOneBuffer(int payloadLength, int recordLength) {
        return PageRunAllocator.regionBytes(recordLength) <= PageRunAllocator.regionBytes(payloadLength)
                + PageRunAllocator.regionBytes(recordLength - payloadLength);
    }

    /**
     * The record's sequence number may be spent (the cipher may have run), and a failed KeyUpdate would leave the
     * old key to seal records numbered for the new one, repeating that key's nonces: no record of this connection
     * is sealed after a failure. The connection closes on the first failed record.
     */
    private void poison(Throwable cause) {
        if (cipher != null) {
            poisonedBy = cause;
            cipher.close();
            cipher = null;
            stats.cryptoFailure();
        }
    }

    /**
     * The payload to seal: a lone piece's bytes where they lie (sealed into {@code body}), or all pieces gathered
     * into {@code body} first (then sealed in place there).
     */
    private ByteBuffer gather(OutboundRecord record, ByteBuf body, int offset) throws IOException {
        List<RecordPiece> pieces = record.pieces;
        if (pieces.size() == 1) {
            ByteBuffer view = pieces.get(0).view(files);
            if (view != null) {
                return view;
            }
        }
        ByteBuffer target = body.nioBuffer(offset, record.payloadLength);
        for (RecordPiece piece : pieces) {
            piece.copyTo(target, files);
        }
        return target.flip();
    }

    /** The counters this direction's records are counted in. */
    KtlsStats stats() {
        return stats;
    }

    @Override
    public void close() {
        files.close();
        RecordCipher c = cipher;
        cipher = null;
        if (c != null) {
            c.close();
        }
    }
}
