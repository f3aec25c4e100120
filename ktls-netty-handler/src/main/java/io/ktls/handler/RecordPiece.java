package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;

/**
 * A contiguous part of a record's payload: bytes of a buffer ({@link BufferPiece}) or of a file region
 * ({@link FilePiece}). A pending write hands out pieces; the encryptor gathers them.
 *
 * <p>Ownership: a piece holds its own reference (a retained slice, a retained region), given back once by
 * {@link #release()}; so a write may complete, and release its message, while a worker still reads the piece.
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

    /** Gives back the reference this piece holds. */
    abstract void release();

    /** Bytes of a buffer: a retained slice of a write, or a control record's own small buffer. */
    static final class BufferPiece extends RecordPiece {
        final ByteBuf bytes;

        BufferPiece(ByteBuf bytes) {
            super(bytes.readableBytes());
            this.bytes = bytes;
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
        void release() {
            region.release();
        }
    }
}
