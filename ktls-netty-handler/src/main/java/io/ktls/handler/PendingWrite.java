package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.ReferenceCountUtil;

/**
 * One message written to {@link KtlsHandler} and not yet completed: a {@link ByteBuf}, a {@link FileRegion} or a
 * {@link ChunkedInput}. Framing consumes it from the front ({@link #readerOffset}); the record holding its last
 * byte completes it.
 *
 * <p>Ownership: the message belongs to this object from {@code write} until {@link #succeed()} or
 * {@link #fail(Throwable)}, which release it (close it, for a {@code ChunkedInput}) exactly once and complete the
 * promise. Records keep their own references to the bytes they carry, so releasing here never pulls memory from
 * under a sealing thread. The message may be {@code null}: a promise only (an alert's). Event loop only, except
 * that a sealer whose event loop has shut down fails the writes of a record it cannot hand back.
 */
final class PendingWrite {

    final Object message;
    final ChannelPromise promise;
    /** Bytes of a buffer or region still to frame; for a ChunkedInput, of the current chunk. */
    private long remaining;
    /** Offset of the next byte to frame: buffer reader index or region offset. */
    long readerOffset;
    /** For a ChunkedInput: the chunk being framed, owned here until framed. */
    ByteBuf chunk;
    /** A direct buffer whose memory is its own and ours alone: its records may be sealed in place. */
    final boolean sealableInPlace;
    private boolean done;

    PendingWrite(Object message, ChannelPromise promise) {
        this.message = message;
        this.promise = promise;
        if (message instanceof ByteBuf) {
            ByteBuf buf = (ByteBuf) message;
            this.readerOffset = buf.readerIndex();
            this.remaining = buf.readableBytes();
            this.sealableInPlace = isOwnedOutright(buf);
        } else if (message instanceof FileRegion) {
            FileRegion region = (FileRegion) message;
            this.readerOffset = region.transferred();
            this.remaining = region.count() - region.transferred();
            this.sealableInPlace = false;
        } else {
            this.sealableInPlace = false;
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

    /** A buffer or region with nothing left to frame (a chunked input says so only when read). */
    boolean isEmpty() {
        return !isChunked() && remaining == 0 && message != null;
    }

    boolean isChunked() {
        return message instanceof ChunkedInput;
    }

    /**
     * Bytes available to frame now. For a ChunkedInput this reads the next chunk when the previous one is used
     * up; returns 0 when the input has nothing more right now or has ended (see {@link #isFullyFramed()}).
     */
    long available(ByteBufAllocator alloc) throws Exception {
        if (!isChunked()) {
            return remaining;
        }
        ChunkedInput<?> input = (ChunkedInput<?>) message;
        while (remaining == 0 && !input.isEndOfInput()) {
            Object next = input.readChunk(alloc);
            if (next == null) {
                return 0;
            }
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
            readerOffset = content.readerIndex();
            remaining = content.readableBytes();
        }
        return remaining;
    }

    /** The buffer whose bytes framing takes next: the message itself or the current chunk. */
    ByteBuf currentBuffer() {
        return isChunked() ? chunk : (ByteBuf) message;
    }

    void consumed(int bytes) {
        remaining -= bytes;
        readerOffset += bytes;
        assert remaining >= 0 : "remaining: " + remaining + ", consumed: " + bytes;
    }

    /** Nothing left to frame: every byte of the message is in some record. */
    boolean isFullyFramed() throws Exception {
        if (remaining != 0) {
            return false;
        }
        return !isChunked() || ((ChunkedInput<?>) message).isEndOfInput();
    }

    void succeed() {
        if (finish()) {
            promise.trySuccess();
        }
    }

    void fail(Throwable cause) {
        if (finish()) {
            promise.tryFailure(cause);
        }
    }

    /** Releases the message without completing the promise (its event loop is gone). */
    void abandon() {
        finish();
    }

    private boolean finish() {
        if (done) {
            return false;
        }
        done = true;
        if (chunk != null) {
            chunk.release();
            chunk = null;
        }
        if (message instanceof ChunkedInput) {
            try {
                ((ChunkedInput<?>) message).close();
            } catch (Exception ignored) {
                // Closing an input we have finished with: nothing left to report.
            }
        } else {
            ReferenceCountUtil.release(message);
        }
        return true;
    }
}
