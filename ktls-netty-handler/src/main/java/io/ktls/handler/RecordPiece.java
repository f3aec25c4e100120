package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A contiguous part of a record's payload: bytes of a buffer ({@link BufferPiece}) or of a file region
 * ({@link FilePiece}). A pending write hands out pieces; the {@link RecordEncryptor} gathers them, through
 * {@link #view} (a lone piece sealed where it lies) or {@link #copyTo} (pieces gathered into the record's body),
 * with the write direction's {@link FileSource} for file bytes.
 *
 * <p>Ownership: a piece holds its own reference (a retained slice, a retained region), given back once by
 * {@link #release()}; so a write may complete, and release its message, while a worker still reads the piece.
 *
 * <p>Threads: made on the event loop at framing; from the hand-off of its {@link OutboundRecord} on, read and
 * released only by the thread that seals (or fails) that record, the hand-off ordering the two.
 */
abstract class RecordPiece {

    private final int length;

    RecordPiece(int length) {
        this.length = length;
    }

    /** A piece of {@code bytes}, all of its readable bytes; takes over the caller's reference. */
    static BufferPiece of(ByteBuf bytes) {
        return new BufferPiece(bytes);
    }

    /** {@code length} bytes of {@code region} from {@code offset} (relative to its position); takes a reference. */
    static FilePiece of(FileRegion region, long offset, int length) {
        return new FilePiece(region, offset, length);
    }

    /** Bytes of payload in this piece. */
    final int length() {
        return length;
    }

    /**
     * This piece's bytes as one {@code ByteBuffer} where they lie (the buffer's memory, a file's mapping), or
     * {@code null} when they must be copied with {@link #copyTo}. Valid until the next call on {@code files}.
     */
    abstract ByteBuffer view(FileSource files) throws IOException;

    /** Copies this piece's bytes into {@code target} at its position, which advances by {@link #length()}. */
    abstract void copyTo(ByteBuffer target, FileSource files) throws IOException;

    /** Gives back the reference this piece holds. */
    abstract void release();

    /** Bytes of a buffer: a retained slice of a write, or a control record's own small buffer. */
    static final class BufferPiece extends RecordPiece {
        final ByteBuf bytes;

        BufferPiece(ByteBuf bytes) {
            super(bytes.readableBytes());
            this.bytes = bytes;
        }

        /**
         * Only a buffer with one NIO buffer over its memory has a view: one over a raw address
         * ({@code Unpooled.wrappedBuffer(address, size, false)}) can only make one through a JDK constructor that
         * may be closed to Netty, and a composite may span several.
         */
        @Override
        ByteBuffer view(FileSource files) {
            if (bytes.nioBufferCount() != 1) {
                return null;
            }
            try {
                return bytes.nioBuffer();
            } catch (UnsupportedOperationException e) {
                return null;
            }
        }

        /** With {@code getBytes}, not a view: it works for every buffer (see {@link #view}). */
        @Override
        void copyTo(ByteBuffer target, FileSource files) {
            int end = target.position() + length();
            bytes.getBytes(bytes.readerIndex(), target.duplicate().limit(end));
            target.position(end);
        }

        @Override
        void release() {
            bytes.release();
        }
    }

    /** Bytes of a file region, read (or copied from a mapping) only when the record is sealed. */
    static final class FilePiece extends RecordPiece {
        final FileRegion region;
        /** Offset in the region, relative to {@code region.position()}. */
        final long offset;

        FilePiece(FileRegion region, long offset, int length) {
            super(length);
            this.region = region;
            this.offset = offset;
        }

        /** The file offset of this piece's first byte. */
        long filePosition() {
            return region.position() + offset;
        }

        @Override
        ByteBuffer view(FileSource files) throws IOException {
            return files.mapped(this);
        }

        @Override
        void copyTo(ByteBuffer target, FileSource files) throws IOException {
            ByteBuffer mapped = files.mapped(this);
            if (mapped != null) {
                target.put(mapped);
            } else {
                files.read(this, target);
            }
        }

        @Override
        void release() {
            region.release();
        }
    }
}
