package io.ktls.handler;

import io.netty.channel.DefaultFileRegion;
import io.netty.util.internal.ObjectUtil;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * A {@link DefaultFileRegion} over a file opened together with its identity, so that {@link KtlsHandler} can
 * serve it from a mapping shared by every connection that sends the same file, where a region made from a bare
 * {@code FileChannel} would be read with a {@code pread} per record. Everywhere else it is a
 * {@code DefaultFileRegion}: {@code sendfile} on a plaintext epoll channel, {@code transferTo} on NIO.
 *
 * <p>A server decides its response from the file's attributes (length, validators, range) before it opens the
 * file, and the file may be replaced in between. {@link #open(Path, BasicFileAttributes, long, long)} therefore
 * opens the path and reads its attributes again: it succeeds only when the file opened is still the one the
 * attributes describe (same {@linkplain BasicFileAttributes#fileKey() file key}, size and modification time), so
 * the response headers and the bytes sent always agree, and the identity is what keys the shared mapping.
 *
 * <pre>{@code
 * BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
 * // ... status, Content-Length, ETag and range from attributes ...
 * ctx.write(response);
 * ctx.write(KtlsFileRegion.open(path, attributes, offset, count));
 * }</pre>
 *
 * <p>On a file system without file keys the identity cannot be checked: the region is then read with
 * {@code pread}, as a region made from a {@code FileChannel} is.
 *
 * <p>A server that sends the same files again and again can keep them open: it opens each file once as a region
 * of the whole file, keeps that region, and writes a {@linkplain #retainedSlice(long, long) retained slice} of it
 * per response. Slices share the parent's channel and identity (so the mapping too) and hold a reference to the
 * parent; the file is closed when the parent and every slice have been released. Every read is positional, so
 * slices may be written by several connections on several threads at once.
 *
 * <p>Threads: immutable after construction, apart from the reference count it inherits.
 */
public final class KtlsFileRegion extends DefaultFileRegion {

    private final FileChannel channel;
    /** What the file was when opened; {@code null} where the file system has no file keys. */
    private final Object fileKey;
    private final long fileSize;
    private final long lastModifiedMillis;
    /** The region a slice was cut from, released with the slice; {@code null} for a region that owns its file. */
    private final KtlsFileRegion parent;

    private KtlsFileRegion(FileChannel channel, Object fileKey, long fileSize, long lastModifiedMillis,
                           long position, long count, KtlsFileRegion parent) {
        super(channel, position, count);
        this.channel = channel;
        this.fileKey = fileKey;
        this.fileSize = fileSize;
        this.lastModifiedMillis = lastModifiedMillis;
        this.parent = parent;
    }

    /**
     * Opens {@code path} for a region of {@code count} bytes from {@code position}, checking that the file opened
     * is the one {@code expected} describes.
     *
     * @param expected the file's attributes as the caller read them, which its response was built from
     * @throws FileChangedException the file changed (was replaced, resized or touched) since {@code expected}
     *                              was read: read its attributes again and start over
     * @throws IllegalArgumentException the region does not lie within the file
     * @throws FileSystemException {@code expected} is not a regular file (nothing is opened)
     */
    public static KtlsFileRegion open(Path path, BasicFileAttributes expected, long position, long count)
            throws IOException {
        ObjectUtil.checkNotNull(path, "path");
        ObjectUtil.checkNotNull(expected, "expected");
        ObjectUtil.checkPositiveOrZero(position, "position");
        ObjectUtil.checkPositiveOrZero(count, "count");
        if (position + count > expected.size() || position + count < 0) {
            throw new IllegalArgumentException("region [" + position + ", " + position + " + " + count
                    + ") beyond the file's " + expected.size() + " bytes: " + path);
        }
        if (!expected.isRegularFile()) {
            // Refused before the open: opening a FIFO waits for a writer, and would hold the caller's thread (an
            // event loop) for as long.
            throw new FileSystemException(path.toString(), null, "not a regular file");
        }
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            // Read after the open: if the path still names the expected file, the channel opened that file (a
            // file renamed over in between has another key, or at least another modification time). Only a file
            // renamed away and back within the open escapes this, and only someone who may write the folder can
            // do that: what the region then sends is what that file holds, as with any change in place.
            BasicFileAttributes now = Files.readAttributes(path, BasicFileAttributes.class);
            if (!sameFile(expected, now)) {
                throw new FileChangedException(path);
            }
            return new KtlsFileRegion(channel, expected.fileKey(), expected.size(),
                                      expected.lastModifiedTime().toMillis(), position, count, null);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * A region of {@code count} bytes from {@code position} of the same open file (positions relative to the file,
     * not to this region), holding a reference to this region until it is released itself; the file stays open
     * until then. For a file kept open across responses: each response writes a slice of the kept region.
     *
     * @throws IllegalArgumentException the slice does not lie within this region
     * @throws io.netty.util.IllegalReferenceCountException this region was released already
     */
    public KtlsFileRegion retainedSlice(long position, long count) {
        ObjectUtil.checkPositiveOrZero(position, "position");
        ObjectUtil.checkPositiveOrZero(count, "count");
        long end = position() + count();
        if (position < position() || position + count > end || position + count < 0) {
            throw new IllegalArgumentException("slice [" + position + ", " + position + " + " + count
                    + ") beyond the region [" + position() + ", " + end + ')');
        }
        retain();
        return new KtlsFileRegion(channel, fileKey, fileSize, lastModifiedMillis, position, count, this);
    }

    /** A slice gives its reference back to the region it was cut from, which closes the file with its last. */
    @Override
    protected void deallocate() {
        if (parent != null) {
            parent.release();
        } else {
            super.deallocate();
        }
    }

    /**
     * Whether two readings of a path's attributes describe the same regular file, unchanged: same file key,
     * size and modification time, the check {@link #open} makes. For a server that keeps files open: a kept
     * file may answer for its path as long as this holds against the path's attributes read now.
     */
    public static boolean sameFile(BasicFileAttributes a, BasicFileAttributes b) {
        return a.isRegularFile() && b.isRegularFile()
               && Objects.equals(a.fileKey(), b.fileKey())
               && a.size() == b.size()
               && a.lastModifiedTime().toMillis() == b.lastModifiedTime().toMillis();
    }

    /** The size of the file when it was opened. */
    public long fileSize() {
        return fileSize;
    }

    /** The file's modification time when it was opened, in milliseconds since the epoch. */
    public long lastModifiedMillis() {
        return lastModifiedMillis;
    }

    /** The open channel, for positional reads and size checks (it stays open while the region is referenced). */
    FileChannel channel() {
        return channel;
    }

    /** The file key, or {@code null} where the file system has none (the region is then never mapped). */
    Object fileKey() {
        return fileKey;
    }

    @Override
    public KtlsFileRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public KtlsFileRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public KtlsFileRegion touch() {
        return this;
    }

    @Override
    public KtlsFileRegion touch(Object hint) {
        return this;
    }

    /** The file a path names is no longer the one its attributes, read a moment before, describe. */
    public static final class FileChangedException extends FileSystemException {
        private static final long serialVersionUID = 1L;

        public FileChangedException(Path path) {
            super(path.toString(), null, "changed between reading its attributes and opening it");
        }
    }

    @Override
    public String toString() {
        return "KtlsFileRegion(fileKey: " + fileKey + ", fileSize: " + fileSize + ", position: " + position()
               + ", count: " + count() + ')';
    }
}
