package io.ktls.handler;

import io.ktls.handler.crypto.RecordCipher;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.FileRegion;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The sealing work of one connection's write direction: gathers a record's plaintext, encrypts it and builds
 * the output {@code header | body | trailer} as a read-only composite of three buffers, with no copy between
 * sealing and the socket.
 *
 * <p>Memory: the body is a buffer of exactly the payload's length from the channel's allocator (a 16 KiB payload
 * fills a 16 KiB run of a page-run allocator); header and trailer share one small buffer. A record whose payload
 * is one slice of a caller's buffer that we own outright is sealed in place and that slice is the body. File data
 * and coalesced pieces are first gathered into the body run, then sealed in place there: file pages are never
 * encrypted where they lie. A record whose payload is one piece of a file that {@link MappedFiles} maps is sealed
 * from the mapping into the body: no read system call, one copy fewer.
 *
 * <p>Threads: owns the write {@link RecordCipher}, which only the sealing thread touches (the event loop for
 * {@link InlineRecordSealer}, the pinned worker for {@link OffloadRecordSealer}); a KeyUpdate record carries the
 * next cipher, swapped in right after that record is sealed, so the swap follows the records' submission order.
 *
 * <p>Failure: the first record that fails (crypto, file, anything) closes the write cipher for good, and every
 * record after it fails unsealed. Its sequence number may be spent, and after a failed KeyUpdate the old key
 * would otherwise seal records numbered from 0 for the new key, repeating nonces; the connection is closing
 * anyway. Both sealers go through here, so inline and offloaded sealing behave alike.
 */
final class RecordEncryptor implements AutoCloseable {

    private final ByteBufAllocator alloc;
    private final TlsCipherSuite suite;
    private RecordCipher cipher;
    /** The file region of the last file piece and its mapping (null: read it); released by {@link #close()}. */
    private FileRegion mappedRegion;
    private MappedFiles.Mapping mapping;
    /**
     * The regions whose mappings the record being sealed was copied from, and for each the file offset its
     * pieces reach: a record may end one file and begin the next, and each piece is checked against its own
     * file. {@link #mappedSourceCount} entries are in use, mostly one.
     */
    private FileRegion[] mappedSources = new FileRegion[2];
    private long[] mappedSourceEnds = new long[2];
    private int mappedSourceCount;
    /** The first seal failure: from then on nothing is sealed (the write cipher is already closed). */
    private Throwable poisonedBy;
    /** The size of {@link #mappedRegion}'s file at the last check, and when ({@link System#nanoTime()}). */
    private long checkedFileSize = -1;
    private long checkedAtNanos;

    /**
     * How long a size check of the mapped file stands for the next copy out of it. Sealing a record takes a few
     * microseconds, so back-to-back records reuse the check made after the previous one (one {@code fstat} per
     * record, as before), and a truncation can only fault a copy that starts within this time of a check.
     */
    private static final long SIZE_CHECK_VALID_NANOS = 50_000;

    RecordEncryptor(RecordCipher cipher, ByteBufAllocator alloc) {
        this.cipher = cipher;
        this.suite = cipher.suite();
        this.alloc = alloc;
    }

    /** Seals {@code record}: on return its state is SEALED (with an output) or FAILED (with a cause). */
    void seal(OutboundRecord record) {
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
            frame = alloc.directBuffer(headerLength + trailerLength);
            ByteBuffer header = frame.nioBuffer(0, headerLength);
            ByteBuffer trailer = frame.nioBuffer(headerLength, trailerLength);
            if (record.inPlace) {
                body = ((RecordPiece.BufferPiece) record.pieces.get(0)).bytes;
                record.pieces.clear();
                c.seal(record.sequence, record.contentType, body.nioBuffer(), header,
                        body.nioBuffer(), trailer);
                KtlsStats.GLOBAL.sealedInPlace();
            } else {
                body = alloc.directBuffer(payloadLength, payloadLength);
                ByteBuffer payload = gather(record, body);
                c.seal(record.sequence, record.contentType, payload, header, body.nioBuffer(0, payloadLength),
                        trailer);
                checkMappedSource();
                body.writerIndex(payloadLength);
                record.releasePlaintext();
                KtlsStats.GLOBAL.sealedSeparate();
            }
            frame.writerIndex(headerLength + trailerLength);
            // A fixed, read-only composite: the cheapest of Netty's composites, and the transport gathers its
            // three parts into one writev.
            record.output = Unpooled.wrappedUnmodifiableBuffer(frame.retainedSlice(0, headerLength), body,
                    frame.retainedSlice(headerLength, trailerLength));
            body = null;
            KtlsStats.GLOBAL.recordsSealed(suite, payloadLength);
            if (record.nextCipher != null) {
                c.close();
                cipher = record.nextCipher;
            }
            record.state = OutboundRecord.State.SEALED;
        } catch (Throwable cause) {
            clearMappedSources();
            if (body != null) {
                body.release();
            }
            if (cipher != null) {
                // The record's sequence number may be spent (the cipher may have run), and a failed KeyUpdate would
                // leave the old key to seal records numbered for the new one, repeating that key's nonces: no
                // record of this connection is sealed after a failure. The connection closes on this record.
                poisonedBy = cause;
                cipher.close();
                cipher = null;
                KtlsStats.GLOBAL.cryptoFailure();
            }
            record.sealFailed(cause);
        } finally {
            if (frame != null) {
                frame.release();
            }
        }
    }

    /**
     * The payload to seal: one caller buffer's bytes as they lie (sealed into {@code body}), or, for files and
     * coalesced pieces, the pieces gathered into {@code body} first (then sealed in place there).
     */
    private ByteBuffer gather(OutboundRecord record, ByteBuf body) throws Exception {
        if (record.pieces.size() == 1) {
            RecordPiece piece = record.pieces.get(0);
            if (piece instanceof RecordPiece.BufferPiece) {
                ByteBuffer view = nioView(((RecordPiece.BufferPiece) piece).bytes);
                if (view != null) {
                    return view;
                }
            } else {
                ByteBuffer mapped = mapped((RecordPiece.FilePiece) piece);
                if (mapped != null) {
                    return mapped;
                }
            }
        }
        ByteBuffer target = body.nioBuffer(0, record.payloadLength);
        for (RecordPiece p : record.pieces) {
            if (p instanceof RecordPiece.BufferPiece) {
                ByteBuf buf = ((RecordPiece.BufferPiece) p).bytes;
                // getBytes, not nioBuffer(): it works for every buffer (see nioView).
                int end = target.position() + buf.readableBytes();
                buf.getBytes(buf.readerIndex(), target.duplicate().limit(end));
                target.position(end);
            } else {
                RecordPiece.FilePiece piece = (RecordPiece.FilePiece) p;
                ByteBuffer mapped = mapped(piece);
                if (mapped != null) {
                    target.put(mapped);
                    continue;
                }
                ByteBuffer part = target.duplicate();
                part.limit(part.position() + piece.length());
                FileRegionReader.read(piece.region, piece.offset, part);
                target.position(part.position());
            }
        }
        target.flip();
        return target;
    }

    /**
     * The buffer's readable bytes as one {@code ByteBuffer} over its memory, or {@code null} to copy them with
     * {@code getBytes}: a buffer over a raw address ({@code Unpooled.wrappedBuffer(address, size, false)}) can
     * only make one through a JDK constructor that may be closed to Netty, and a composite may span several.
     */
    private static ByteBuffer nioView(ByteBuf buf) {
        if (buf.nioBufferCount() != 1) {
            return null;
        }
        try {
            return buf.nioBuffer();
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * The file piece's bytes in a shared mapping of its file, or {@code null} to read them. Consecutive records
     * mostly come from one region, so the mapping is looked up once per region.
     */
    private ByteBuffer mapped(RecordPiece.FilePiece piece) throws IOException {
        if (piece.region != mappedRegion) {
            releaseMapping();
            checkedFileSize = -1;
            mappedRegion = piece.region;
            mapping = MappedFiles.SHARED.acquire(FileRegionReader.fileOf(piece.region));
        }
        MappedFiles.Mapping m = mapping;
        if (m == null) {
            return null;
        }
        long position = piece.filePosition();
        if (position + piece.length() > m.size()) {
            return null; // the file grew since it was mapped: pread sees the new bytes
        }
        long end = position + piece.length();
        long now = System.nanoTime();
        if (end > checkedFileSize || now - checkedAtNanos > SIZE_CHECK_VALID_NANOS) {
            // Before touching the pages: a copy from pages the file no longer has faults, and before JDK 22 the
            // JVM reports that fault late, at an arbitrary later point of this thread (see checkMappedSource).
            checkedFileSize = FileRegionReader.size(piece.region);
            checkedAtNanos = now;
            if (end > checkedFileSize) {
                throw new EOFException("file truncated to " + checkedFileSize + " bytes before a record was read"
                        + " from its mapping (the record needs bytes up to " + end + ')');
            }
        }
        addMappedSource(piece.region, end);
        return m.slice(position, piece.length());
    }

    /**
     * Bytes copied out of a mapping are only the file's if the file still covered them. The size is checked
     * before a copy (see {@link #mapped}), which keeps a truncated file's lost pages from being touched at all in
     * all but a race of microseconds; this check after the copy catches that race. In the race the copy faults:
     * from JDK 22 the copy throws an {@code InternalError} at once, inside {@link #seal}'s failure handling; up to
     * JDK 21 the JVM skips the faulting copy and raises the error only later, at a call into the VM that may come
     * long after (the offload workers survive it, see {@code KtlsOffloadGroup}); either way this size check fails
     * the record before wrong bytes go out. Each mapped piece is held against its own file (a record may carry the
     * tail of one file and the head of the next): one {@code fstat} per file a mapped record copied from.
     */
    private void checkMappedSource() throws IOException {
        int count = mappedSourceCount;
        if (count == 0) {
            return;
        }
        try {
            for (int i = 0; i < count; i++) {
                FileRegion source = mappedSources[i];
                long end = mappedSourceEnds[i];
                long size = FileRegionReader.size(source);
                if (source == mappedRegion) {
                    checkedFileSize = size;
                    checkedAtNanos = System.nanoTime();
                }
                if (size < end) {
                    throw new EOFException("file truncated to " + size + " bytes while a record was read from its"
                            + " mapping (the record needs bytes up to " + end + ')');
                }
            }
        } finally {
            clearMappedSources();
        }
    }

    /** Notes that the record being sealed copied bytes up to file offset {@code end} out of {@code region}. */
    private void addMappedSource(FileRegion region, long end) {
        int count = mappedSourceCount;
        if (count > 0 && mappedSources[count - 1] == region) {
            mappedSourceEnds[count - 1] = Math.max(mappedSourceEnds[count - 1], end);
            return;
        }
        if (count == mappedSources.length) {
            mappedSources = Arrays.copyOf(mappedSources, count * 2);
            mappedSourceEnds = Arrays.copyOf(mappedSourceEnds, count * 2);
        }
        mappedSources[count] = region;
        mappedSourceEnds[count] = end;
        mappedSourceCount = count + 1;
    }

    private void clearMappedSources() {
        Arrays.fill(mappedSources, 0, mappedSourceCount, null);
        mappedSourceCount = 0;
    }

    private void releaseMapping() {
        MappedFiles.Mapping m = mapping;
        mapping = null;
        mappedRegion = null;
        if (m != null) {
            m.release();
        }
    }

    @Override
    public void close() {
        releaseMapping();
        RecordCipher c = cipher;
        cipher = null;
        if (c != null) {
            c.close();
        }
    }
}
