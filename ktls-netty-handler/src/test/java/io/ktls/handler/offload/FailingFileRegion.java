package io.ktls.handler.offload;

import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.function.Supplier;

/**
 * A {@link FileRegion} of zeros whose read throws {@code failure} once {@code failAtOffset} is reached: an
 * error raised on the offload worker that reads it while sealing a record. Counts its releases.
 */
final class FailingFileRegion extends AbstractReferenceCounted implements FileRegion {

    private final long count;
    private final long failAtOffset;
    private final Supplier<? extends Throwable> failure;
    private long transferred;

    FailingFileRegion(long count, long failAtOffset, Supplier<? extends Throwable> failure) {
        this.count = count;
        this.failAtOffset = failAtOffset;
        this.failure = failure;
    }

    @Override
    public long position() {
        return 0;
    }

    @Override
    @Deprecated
    public long transfered() {
        return transferred;
    }

    @Override
    public long transferred() {
        return transferred;
    }

    @Override
    public long count() {
        return count;
    }

    @Override
    public long transferTo(WritableByteChannel target, long position) throws IOException {
        if (position >= failAtOffset) {
            Throwable t = failure.get();
            if (t instanceof IOException) {
                throw (IOException) t;
            }
            if (t instanceof RuntimeException) {
                throw (RuntimeException) t;
            }
            throw (Error) t;
        }
        int length = (int) Math.min(Math.min(count, failAtOffset) - position, 8192);
        int written = target.write(ByteBuffer.allocate(length));
        transferred += written;
        return written;
    }

    @Override
    public FileRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public FileRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public FileRegion touch() {
        return this;
    }

    @Override
    public FileRegion touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        // nothing to free: the region's bytes are made on demand
    }
}
