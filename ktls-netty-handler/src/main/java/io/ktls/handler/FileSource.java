package io.ktls.handler;

import io.netty.channel.FileRegion;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;

/**
 * Where the bytes of a record's file pieces come from while it is sealed: a shared mapping of the file
 * ({@link MappedFiles}), else a positional read ({@code pread}) of a {@link io.netty.channel.DefaultFileRegion},
 * else the region's own {@code transferTo}.
 *
 * <h2>Mapped copies and truncation</h2>
 * A copy out of a mapping reads pages the file may have lost since it was mapped (truncated by another process);
 * touching such a page faults (SIGBUS), and up to JDK 21 the JVM skips the faulting copy and reports the fault
 * only later, at an arbitrary call into the VM. So each mapped copy is bracketed by size checks of its file:
 * <ol>
 *   <li>before ({@link #mapped}): the file must still cover the piece, or the record fails without touching the
 *       lost pages. A check stands for {@link #SIZE_CHECK_VALID_NANOS}, so back-to-back records of one file
 *       cost one {@code fstat} each, not two;</li>
 *   <li>after ({@link #checkAfterCopy}), once the record is sealed: the file must still cover every mapped piece
 *       copied, each against its own file (a record may carry the tail of one file and the head of the next).
 *       This catches a truncation in the microseconds between the first check and the copy, before the
 *       record's possibly wrong bytes go out.</li>
 * </ol>
 *
 * <p>Threads: one per write direction, used only on that direction's sealing thread (the event loop, or the
 * offload worker the connection is pinned to), which seals its records one at a time in framing order; that is
 * what lets a non-default region be read with its in-order {@code transferTo}. It is per direction, not per
 * thread: it caches the current region and its mapping, and connections sharing a worker would evict each
 * other's on every record. Released by {@link #close()}.
 */
final class FileSource implements AutoCloseable {

    /**
     * How long a size check of the mapped file stands for the next copy out of it. Sealing a record takes a few
     * microseconds, so back-to-back records reuse the check made after the previous one, and a truncation can
     * only fault a copy that starts within this time of a check (which {@link #checkAfterCopy} then catches).
     */
    static final long SIZE_CHECK_VALID_NANOS = 50_000;

    /** The file region of the last file piece and its mapping (null: read it); released by {@link #close()}. */
    private FileRegion mappedRegion;
    private MappedFiles.Mapping mapping;
    /** The size of {@link #mappedRegion}'s file at the last check, and when ({@link System#nanoTime()}). */
    private long checkedFileSize = -1;
    private long checkedAtNanos;
    /**
     * The regions whose mappings the record being sealed was copied from, and for each the file offset its
     * pieces reach; {@link #mappedSourceCount} entries are in use, mostly one.
     */
    private FileRegion[] mappedSources = new FileRegion[2];
    private long[] mappedSourceEnds = new long[2];
    private int mappedSourceCount;

    /**
     * The piece's bytes as a view of a shared mapping of its file, or {@code null} to {@link #read} them (a file
     * not mapped, or grown since it was mapped). Consecutive records mostly come from one region, so the mapping
     * is looked up once per region. The view is valid until this source moves to another region or closes.
     *
     * @throws EOFException the file no longer covers the piece
     */
    ByteBuffer mapped(RecordPiece.FilePiece piece) throws IOException {
        if (piece.region != mappedRegion) {
            releaseMapping();
            checkedFileSize = -1;
            mappedRegion = piece.region;
            mapping = MappedFiles.SHARED.acquire(piece.region);
        }
        MappedFiles.Mapping m = mapping;
        if (m == null) {
            return null;
        }
        long position = piece.filePosition();
        long end = position + piece.length();
        if (end > m.size()) {
            return null; // the file grew since it was mapped: pread sees the new bytes
        }
        long now = System.nanoTime();
        if (end > checkedFileSize || now - checkedAtNanos > SIZE_CHECK_VALID_NANOS) {
            checkedFileSize = size(piece.region);
            checkedAtNanos = now;
            if (end > checkedFileSize) {
                throw new EOFException("file truncated to " + checkedFileSize + " bytes before a record was read"
                        + " from its mapping (the record needs bytes up to " + end + ')');
            }
        }
        addMappedSource(piece.region, end);
        return m.slice(position, piece.length());
    }

    /** Reads the piece's bytes into {@code dst} at its position, which advances by the piece's length. */
    void read(RecordPiece.FilePiece piece, ByteBuffer dst) throws IOException {
        ByteBuffer part = dst.duplicate();
        part.limit(part.position() + piece.length());
        readRegion(piece.region, piece.offset, part);
        dst.position(part.position());
    }

    /**
     * After a record's mapped copies: fails it if a file it copied from no longer covers the bytes copied (one
     * {@code fstat} per such file). From JDK 22 a copy from a lost page throws at once, inside the copy; up to
     * JDK 21 its fault surfaces late, and this check fails the record before wrong bytes go out either way.
     * Forgets the record's sources.
     *
     * @throws EOFException a file was truncated below what the record copied from it
     */
    void checkAfterCopy() throws IOException {
        int count = mappedSourceCount;
        if (count == 0) {
            return;
        }
        try {
            for (int i = 0; i < count; i++) {
                FileRegion source = mappedSources[i];
                long end = mappedSourceEnds[i];
                long size = size(source);
                if (source == mappedRegion) {
                    checkedFileSize = size;
                    checkedAtNanos = System.nanoTime();
                }
                if (size < end) {
                    throw new EOFException("file truncated to " + size + " bytes while a record was read from its"
                            + " mapping (the record needs bytes up to " + end + ')');
                }
            }
        } finally {
            clear();
        }
    }

    /** Forgets the sources of the record being sealed, which failed. */
    void clear() {
        Arrays.fill(mappedSources, 0, mappedSourceCount, null);
        mappedSourceCount = 0;
    }

    /** Releases the current mapping. */
    @Override
    public void close() {
        releaseMapping();
    }

    /**
     * Fills {@code dst} (from its position to its limit) with the region's bytes from {@code offset} (relative to
     * the region's position): positional reads of a {@code DefaultFileRegion}'s channel, which move no shared
     * position, else the region's own {@code transferTo}, which such regions support only in order. Stateless:
     * also the read of {@link FileRegionChunks}.
     */
    static void readRegion(FileRegion region, long offset, ByteBuffer dst) throws IOException {
        FileChannel channel = DefaultFileRegionAccess.channelOf(region);
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

    /** The size of a {@code DefaultFileRegion}'s file now ({@code fstat}), or {@code Long.MAX_VALUE} if unknown. */
    private static long size(FileRegion region) throws IOException {
        FileChannel channel = DefaultFileRegionAccess.channelOf(region);
        return channel != null ? channel.size() : Long.MAX_VALUE;
    }

    /** Notes that the record being sealed copied bytes up to file offset {@code end} out of {@code region}. */
    private void addMappedSource(FileRegion region, long end) {
        int count = mappedSourceCount;
        if (count > 0 && mappedSources[count - 1] == region) {
            mappedSourceEnds[count - 1] = Math.max(mappedSourceEnds[count - 1], end);
            return;
        }
        if (count == mappedSources.length) {
            mappedSources = Arrays.copyOf(mappedSources, count * 2);
            mappedSourceEnds = Arrays.copyOf(mappedSourceEnds, count * 2);
        }
        mappedSources[count] = region;
        mappedSourceEnds[count] = end;
        mappedSourceCount = count + 1;
    }

    private void releaseMapping() {
        MappedFiles.Mapping m = mapping;
        mapping = null;
        mappedRegion = null;
        if (m != null) {
            m.release();
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
