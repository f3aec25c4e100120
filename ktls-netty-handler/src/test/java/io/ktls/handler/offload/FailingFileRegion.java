package io.ktls.handler.offload;

import io.ktls.handler.SyntheticFileRegion;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.function.Supplier;

/**
 * A {@link io.netty.channel.FileRegion} of zeros whose read throws {@code failure} once {@code failAtOffset} is
 * reached: an error raised on the offload worker that reads it while sealing a record. Counts its releases.
 */
final class FailingFileRegion extends SyntheticFileRegion {

    private final long failAtOffset;
    private final Supplier<? extends Throwable> failure;

    FailingFileRegion(long count, long failAtOffset, Supplier<? extends Throwable> failure) {
        super(count);
        this.failAtOffset = failAtOffset;
        this.failure = failure;
    }

    @Override
    protected int write(WritableByteChannel target, long position) throws IOException {
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
        int length = (int) Math.min(Math.min(count(), failAtOffset) - position, 8192);
        return target.write(ByteBuffer.allocate(length));
    }
}
