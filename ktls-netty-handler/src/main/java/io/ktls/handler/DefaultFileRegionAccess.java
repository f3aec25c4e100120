package io.ktls.handler;

import io.netty.channel.DefaultFileRegion;
import io.netty.channel.FileRegion;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.channels.FileChannel;

/**
 * The one place that reaches into Netty's internals: a {@link DefaultFileRegion}'s {@code FileChannel} and the
 * {@code File} it was made from, both private fields, read by reflection. The channel allows positional reads
 * (many regions over one file and many records in flight read at once, and the file's position never moves) and
 * a size check; the file lets {@link MappedFiles} map it.
 *
 * <p>Each accessor returns {@code null} when the region is of another class, or when the fields cannot be read
 * (a Netty that renamed them, a security policy that refuses {@code setAccessible}): callers then fall back to
 * the region's own {@code transferTo}, and to no mapping. The fields are looked up once, when the class loads.
 *
 * <p>Threads: stateless, any thread.
 */
final class DefaultFileRegionAccess {

    private static final Field FILE_CHANNEL = field("file", FileChannel.class);
    /** The path a {@link DefaultFileRegion} was made from ({@code null} when made from a channel). */
    private static final Field FILE = field("f", File.class);

    private DefaultFileRegionAccess() {
    }

    /**
     * The open channel of a {@link KtlsFileRegion}, or of a {@link DefaultFileRegion} (opened here if it was made
     * from a {@code File} and not yet opened); {@code null} for other regions and when the field cannot be read.
     */
    static FileChannel channelOf(FileRegion region) throws IOException {
        if (region instanceof KtlsFileRegion) {
            return ((KtlsFileRegion) region).channel();
        }
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
     * The file a {@link DefaultFileRegion} was made from, or {@code null} for other regions, regions made from a
     * {@code FileChannel}, and when the field cannot be read.
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
}
