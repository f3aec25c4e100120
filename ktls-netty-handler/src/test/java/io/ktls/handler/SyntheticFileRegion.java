package io.ktls.handler;

import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;

/**
 * A {@link FileRegion} with no file behind it, so not a {@code DefaultFileRegion}: a subclass makes its bytes on
 * demand in {@link #write}; this class counts what was transferred and frees nothing.
 */
public abstract class SyntheticFileRegion extends AbstractReferenceCounted implements FileRegion {

    private final long count;
    private long transferred;

    protected SyntheticFileRegion(long count) {
        this.count = count;
    }

    /** Writes some of the region's bytes from {@code position} to {@code target}; returns how many. */
    protected abstract int write(WritableByteChannel target, long position) throws IOException;

    @Override
    public final long transferTo(WritableByteChannel target, long position) throws IOException {
        int written = write(target, position);
        transferred += written;
        return written;
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
