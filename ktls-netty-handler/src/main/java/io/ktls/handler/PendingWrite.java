package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.ReferenceCountUtil;

/**
 * One message written to {@link KtlsHandler} and not yet completed, of one of the kinds the record layer takes: a
 * {@link ByteBuf}, a {@link FileRegion} or a {@link ChunkedInput} ({@link #of}), or no message at all, a promise
 * that completes with the records before it ({@link #completionOnly}). Framing takes it from the front, a piece
 * of at most so many bytes at a time ({@link #nextPiece}); the record holding its last byte completes it.
 *
 * <p>Ownership: the message belongs to this object from {@code write} until {@link #succeed()} or
 * {@link #fail(Throwable)}, which release it (close it, for a {@code ChunkedInput}) exactly once and complete the
 * promise. Pieces hold references of their own, so releasing here never pulls memory from under a sealing thread.
 * Event loop only, except that a sealer whose event loop has shut down abandons the writes of a record it cannot
 * hand back.
 */
abstract class PendingWrite {

    final ChannelPromise promise;
    private boolean done;

    private PendingWrite(ChannelPromise promise) {
        this.promise = promise;
    }

    /** The pending write of {@code message}, or {@code null} when the record layer does not take its type. */
    static PendingWrite of(Object message, ChannelPromise promise) {
        if (message instanceof ByteBuf) {
            return new BufferWrite((ByteBuf) message, promise);
        }
        if (message instanceof FileRegion) {
            return new RegionWrite((FileRegion) message, promise);
        }
        if (message instanceof ChunkedInput) {
            return new ChunkedWrite((ChunkedInput<?>) message, promise);
        }
        return null;
    }

    /** A write that carries no byte: {@code promise} completes with the record it is attached to. */
    static PendingWrite completionOnly(ChannelPromise promise) {
        return new CompletionOnly(promise);
    }

    /** Gives back a message of any type that will never be written, and fails its promise. */
    static void discard(Object message, ChannelPromise promise, Throwable cause) {
        PendingWrite write = of(message, promise);
        if (write != null) {
            write.fail(cause);
        } else {
            ReferenceCountUtil.release(message);
            promise.tryFailure(cause);
        }
    }

    /**
     * A buffer we may encrypt where it lies: direct (what the socket wants) and of memory that provably belongs to
     * it alone ({@link ExclusiveMemory}: made by an allocator we know, not a view, held by nobody else). Memory
     * the caller may read again (a wrapped cached {@code ByteBuffer}, a raw address, a mapped file) gets a fresh
     * body run instead.
     */
    static boolean isOwnedOutright(ByteBuf buf) {
        return buf.isDirect() && ExclusiveMemory.isExclusive(buf);
    }

    /**
     * The next at most {@code maxBytes} (> 0) of the message, as a piece holding its own reference; {@code null}
     * when nothing is available now: the message is used up, or a {@code ChunkedInput} has no chunk ready (see
     * {@link #isFullyFramed()}). May read a chunk of a {@code ChunkedInput} with {@code alloc}.
     */
    abstract RecordPiece nextPiece(int maxBytes, ByteBufAllocator alloc) throws Exception;

    /** Nothing left to frame: every byte of the message is in some record. */
    abstract boolean isFullyFramed() throws Exception;

    /**
     * Bytes of the message not yet framed that count towards the layer's queue bound: all of a buffer's or a
     * region's; none of a {@code ChunkedInput}'s, whose length is not known before it is read.
     */
    long queuedBytes() {
        return 0;
    }

    /** A buffer or region with nothing left to frame (a chunked input says so only when read). */
    boolean isEmpty() {
        return false;
    }

    /** The pieces of this write may be sealed where they lie (see {@link #isOwnedOutright}). */
    boolean sealsInPlace() {
        return false;
    }

    final void succeed() {
        if (finish()) {
            promise.trySuccess();
        }
    }

    final void fail(Throwable cause) {
        if (finish()) {
            promise.tryFailure(cause);
        }
    }

    /** Releases the message without completing the promise (its event loop is gone). */
    final void abandon() {
        finish();
    }

    private boolean finish() {
        if (done) {
            return false;
        }
        done = true;
        releaseMessage();
        return true;
    }

    /** Gives the message back, once. */
    abstract void releaseMessage();

    /**
     * A message whose length is known when it is written, framed from where it stands to its end; every unframed
     * byte counts towards the queue bound.
     */
    private abstract static class KnownLengthWrite extends PendingWrite {
        /** The next byte to frame: a buffer index, or an offset relative to a region's position. */
        private long offset;
        private long remaining;

        KnownLengthWrite(ChannelPromise promise, long offset, long remaining) {
            super(promise);
            this.offset = offset;
            this.remaining = remaining;
        }

        /** A piece of {@code length} bytes from {@code offset}, holding a reference of its own. */
        abstract RecordPiece piece(long offset, int length);

        @Override
        final RecordPiece nextPiece(int maxBytes, ByteBufAllocator alloc) {
            if (remaining == 0) {
                return null;
            }
            int n = (int) Math.min(remaining, maxBytes);
            RecordPiece piece = piece(offset, n);
            offset += n;
            remaining -= n;
            return piece;
        }

        @Override
        final boolean isFullyFramed() {
            return remaining == 0;
        }

        @Override
        final long queuedBytes() {
            return remaining;
        }

        @Override
        final boolean isEmpty() {
            return remaining == 0;
        }
    }

    /** A {@link ByteBuf}: pieces are retained slices of it. */
    private static final class BufferWrite extends KnownLengthWrite {
        private final ByteBuf buf;
        private final boolean sealsInPlace;

        BufferWrite(ByteBuf buf, ChannelPromise promise) {
            super(promise, buf.readerIndex(), buf.readableBytes());
            this.buf = buf;
            this.sealsInPlace = isOwnedOutright(buf);
        }

        @Override
        RecordPiece piece(long offset, int length) {
            return RecordPiece.of(buf.retainedSlice((int) offset, length));
        }

        @Override
        boolean sealsInPlace() {
            return sealsInPlace;
        }

        @Override
        void releaseMessage() {
            buf.release();
        }
    }

    /** A {@link FileRegion} (any): pieces name a range of it and hold a reference; the bytes are read when sealed. */
    private static final class RegionWrite extends KnownLengthWrite {
        private final FileRegion region;

        RegionWrite(FileRegion region, ChannelPromise promise) {
            super(promise, region.transferred(), region.count() - region.transferred());
            this.region = region;
        }

        @Override
        RecordPiece piece(long offset, int length) {
            return RecordPiece.of(region.retain(), offset, length);
        }

        @Override
        void releaseMessage() {
            region.release();
        }
    }

    /**
     * A {@link ChunkedInput}: read a chunk at a time as framing reaches it; its chunks are sent as the bytes they
     * hold ({@code ByteBuf}, or a {@code ByteBufHolder}'s content).
     */
    private static final class ChunkedWrite extends PendingWrite {
        private final ChunkedInput<?> input;
        /** The chunk being framed, owned here until framed. */
        private ByteBuf chunk;
        private int readerIndex;
        private int remaining;

        ChunkedWrite(ChunkedInput<?> input, ChannelPromise promise) {
            super(promise);
            this.input = input;
        }

        @Override
        RecordPiece nextPiece(int maxBytes, ByteBufAllocator alloc) throws Exception {
            while (remaining == 0 && !input.isEndOfInput()) {
                Object next = input.readChunk(alloc);
                if (next == null) {
                    return null;
                }
                takeChunk(next);
            }
            if (remaining == 0) {
                return null;
            }
            int n = Math.min(remaining, maxBytes);
            RecordPiece piece = RecordPiece.of(chunk.retainedSlice(readerIndex, n));
            readerIndex += n;
            remaining -= n;
            return piece;
        }

        private void takeChunk(Object next) {
            ByteBuf content = next instanceof ByteBuf ? (ByteBuf) next
                    : next instanceof ByteBufHolder ? ((ByteBufHolder) next).content().retain() : null;
            if (content == null) {
                ReferenceCountUtil.release(next);
                throw new IllegalArgumentException("unsupported chunk type: " + next.getClass().getName()
                        + " (expected: ByteBuf or ByteBufHolder)");
            }
            if (content != next) {
                ReferenceCountUtil.release(next);
            }
            if (chunk != null) {
                chunk.release();
            }
            chunk = content;
            readerIndex = content.readerIndex();
            remaining = content.readableBytes();
        }

        @Override
        boolean isFullyFramed() throws Exception {
            return remaining == 0 && input.isEndOfInput();
        }

        @Override
        void releaseMessage() {
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
            try {
                input.close();
            } catch (Exception ignored) {
                // Closing an input we have finished with: nothing left to report.
            }
        }
    }

    /** No message: an alert's promise, or a close waiting for the records before it. */
    private static final class CompletionOnly extends PendingWrite {
        CompletionOnly(ChannelPromise promise) {
            super(promise);
        }

        @Override
        RecordPiece nextPiece(int maxBytes, ByteBufAllocator alloc) {
            return null;
        }

        @Override
        boolean isFullyFramed() {
            return true;
        }

        @Override
        void releaseMessage() {
        }
    }
}
