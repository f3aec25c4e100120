package io.ktls.handler;

import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;

import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Reads the plaintext of a record out of a {@link FileRegion} into a buffer, without moving anything shared.
 *
 * <p>{@link DefaultFileRegion}: positional reads ({@code FileChannel.read(dst, position)}) on the region's
 * channel, which Netty keeps in a private field (read by reflection, once); the file's position never moves,
 * so many regions over one file and many records in flight may read concurrently. Any other {@code FileRegion}:
 * its own {@code transferTo} into a channel that fills the buffer, which such regions only support in order;
 * records of one connection are sealed in framing order (inline, or by the one worker the connection is pinned
 * to), so they are read in order. Called on the sealing thread.
 */
final class FileRegionReader {

    private static final Field FILE_CHANNEL = field("file", FileChannel.class);
    /** The path a {@link DefaultFileRegion} was made from ({@code null} when made from a channel). */
    private static final Field FILE = field("f", File.class);

    private FileRegionReader() {
    }

    /** Fills {@code dst} (to its limit) with the region's bytes from {@code offset} (relative to the region). */
    static void read(FileRegion region, long offset, ByteBuffer dst) throws IOException {
        FileChannel channel = defaultRegionChannel(region);
        if (channel != null) {
            long position = region.position() + offset;
            while (dst.hasRemaining()) {
                int read = channel.read(dst, position);
                if (read < 0) {
                    throw new EOFException("file ended at " + position + " before the region did (position: "
                            + region.position() + ", count: " + region.count() + ')');
                }
                position += read;
            }
            return;
        }
        BufferFillingChannel target = new BufferFillingChannel(dst);
        long position = offset;
        int idleRounds = 0;
        while (dst.hasRemaining()) {
            long written = region.transferTo(target, position);
            if (written > 0) {
                position += written;
                idleRounds = 0;
            } else if (++idleRounds > 16) {
                throw new EOFException("FileRegion " + region.getClass().getName() + " stopped at offset "
                        + position + " with " + dst.remaining() + " bytes of the record missing");
            }
        }
    }

    /** The size of a {@link DefaultFileRegion}'s file now ({@code fstat}), or {@code Long.MAX_VALUE} if unknown. */
    static long size(FileRegion region) throws IOException {
        FileChannel channel = defaultRegionChannel(region);
        return channel != null ? channel.size() : Long.MAX_VALUE;
    }

    private static FileChannel defaultRegionChannel(FileRegion region) throws IOException {
        if (FILE_CHANNEL == null || region.getClass() != DefaultFileRegion.class) {
            return null;
        }
        DefaultFileRegion defaultRegion = (DefaultFileRegion) region;
        defaultRegion.open();
        try {
            return (FileChannel) FILE_CHANNEL.get(defaultRegion);
        } catch (IllegalAccessException e) {
            return null;
        }
    }

    /**
     * The file a {@link DefaultFileRegion} was created from, for {@link MappedFiles}; {@code null} for other
     * regions and regions created from a {@code FileChannel}.
     */
    static File fileOf(FileRegion region) {
        if (FILE == null || region.getClass() != DefaultFileRegion.class) {
            return null;
        }
        try {
            return (File) FILE.get(region);
        } catch (IllegalAccessException e) {
            return null;
        }
    }

    private static Field field(String name, Class<?> type) {
        try {
            Field field = DefaultFileRegion.class.getDeclaredField(name);
            if (field.getType() != type) {
                return null;
            }
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** Accepts bytes until the buffer is full, then reports 0 written. */
    private static final class BufferFillingChannel implements WritableByteChannel {
        private final ByteBuffer dst;

        BufferFillingChannel(ByteBuffer dst) {
            this.dst = dst;
        }

        @Override
        public int write(ByteBuffer src) {
            int n = Math.min(src.remaining(), dst.remaining());
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + n);
            dst.put(part);
            src.position(src.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
