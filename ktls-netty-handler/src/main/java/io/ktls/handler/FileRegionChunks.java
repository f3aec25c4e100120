package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.FileRegion;
import io.netty.handler.stream.ChunkedInput;

import java.nio.ByteBuffer;

/**
 * A {@link FileRegion} read as a {@link ChunkedInput} of 16 KiB buffers, with the record layer's read path
 * ({@link FileSource#readRegion}: positional reads of a {@code DefaultFileRegion}, else its own
 * {@code transferTo}). Only for connections that stay on {@code SslHandler} (which accepts nothing but
 * buffers): a {@code ChunkedWriteHandler} in front of it pulls the chunks as the channel's writability allows.
 * Owns one reference to the region, released by {@link #close()}. Event loop only.
 */
final class FileRegionChunks implements ChunkedInput<ByteBuf> {

    /** One TLS record's worth per chunk: SslHandler then wraps each into exactly one record. */
    private static final int CHUNK_BYTES = 16384;

    private final FileRegion region;
    private long offset;
    private boolean closed;

    FileRegionChunks(FileRegion region) {
        this.region = region;
        this.offset = region.transferred();
    }

    @Override
    public boolean isEndOfInput() {
        return offset >= region.count();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            region.release();
        }
    }

    @Override
    @Deprecated
    public ByteBuf readChunk(ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    @Override
    public ByteBuf readChunk(ByteBufAllocator allocator) throws Exception {
        if (isEndOfInput()) {
            return null;
        }
        int length = (int) Math.min(CHUNK_BYTES, region.count() - offset);
        ByteBuf chunk = ContiguousMemory.ioBuffer(allocator, length);
        try {
            ByteBuffer dst = chunk.nioBuffer(0, length);
            FileSource.readRegion(region, offset, dst);
            chunk.writerIndex(length);
            offset += length;
            ByteBuf result = chunk;
            chunk = null;
            return result;
        } finally {
            if (chunk != null) {
                chunk.release();
            }
        }
    }

    @Override
    public long length() {
        return region.count();
    }

    @Override
    public long progress() {
        return offset;
    }
}
