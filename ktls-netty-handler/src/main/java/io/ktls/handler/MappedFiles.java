package io.ktls.handler;

import io.netty.channel.FileRegion;
import io.netty.util.internal.PlatformDependent;
import io.netty.util.internal.SystemPropertyUtil;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.io.File;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Read-only mappings of whole files, shared by every connection that sends them: the user-space stand-in for
 * the page-cache pages that kernel TLS encrypts straight from.
 *
 * <h2>Why</h2>
 * A record's plaintext read with {@code pread} costs a system call, a page-cache lookup per page and a kernel
 * copy into our buffer, a large share of the encrypted file path; the sealer then copies it again into the
 * cipher's heap stage. From a mapping that is already populated the sealer copies the bytes straight into the
 * stage, for much less CPU. A fresh mapping pays page faults instead, which cost about what the copy saves, so
 * mappings only pay when they are kept and reused: a file sent again and again (the hot objects of a web server,
 * the benchmark's file) is mapped once and served from the mapping; anything else is read with {@code pread}.
 * The figures: docs/benchmarks.md, "Figures behind design choices".
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>Key: the file's identity ({@link BasicFileAttributes#fileKey()}: device and inode on Unix), size and
 *       modification time. A {@link KtlsFileRegion} carries the identity it was opened with and is mapped
 *       through its own channel; a {@code DefaultFileRegion} made from a {@code File} is looked up through its
 *       path when a connection first meets it. A file changed in place is seen with its new bytes, as
 *       {@code sendfile} would send them; a file replaced (renamed over) gets a new mapping.</li>
 *   <li>Files from {@value #MIN_FILE_BYTES} bytes to 2 GiB (one {@code ByteBuffer}) are mapped; smaller and
 *       larger ones, and {@code DefaultFileRegion}s made from a bare {@code FileChannel} (no identity), use
 *       {@code pread}.</li>
 *   <li>Bounded address space: at most {@link #maxMappedBytes} mapped; beyond it the least recently acquired
 *       mappings leave the cache and are unmapped as soon as their last user releases them. Mappings not
 *       acquired for {@link #IDLE_NANOS} leave it too (checked whenever a file is acquired), so a deleted
 *       file's space is not held for long by an old mapping.</li>
 *   <li>Unmapped deterministically: Netty's cleaner on JDK 17 to 21, a shared {@code Arena} on JDK 22+. Where
 *       neither works the cache is off.</li>
 *   <li>A file truncated while mapped makes the next read of the lost pages fail with an {@code InternalError}
 *       (SIGBUS, turned into an error by the JVM): the record fails and its connection closes, like a file read
 *       error. Up to JDK 21 the JVM reports such a fault late, after the faulting copy was skipped, so
 *       {@link FileSource} checks the file's size before and after each mapped record (a native call, where the
 *       late error surfaces) and never sends a record of bytes the file no longer holds.</li>
 * </ul>
 * System properties: {@value #ENABLED_PROPERTY} ({@code true} by default), {@value #MAX_BYTES_PROPERTY}.
 *
 * <p>Threads: thread-safe. The map and the byte count are concurrent; a {@link Mapping}'s reference count
 * decides, with one atomic decrement, which thread unmaps it (the one that drops it to zero), so a mapping is
 * never unmapped while a sealer holds it.
 */
final class MappedFiles {

    static final String ENABLED_PROPERTY = "io.ktls.handler.mappedFiles";
    static final String MAX_BYTES_PROPERTY = "io.ktls.handler.mappedFiles.maxBytes";
    /** Below 64 KiB (four records) a file costs a handful of {@code pread}s: not worth a mapping. */
    static final long MIN_FILE_BYTES = 64 * 1024;
    /**
     * 4 GiB of address space by default: mapped pages are the page cache's own, so this bounds address space
     * and page-table memory, not memory the files would not use anyway.
     */
    private static final long DEFAULT_MAX_MAPPED_BYTES = 4L << 30;
    /**
     * A mapping not acquired for 10 s leaves the cache (unmapped once unused): a deleted or replaced file must
     * not stay pinned by an old mapping for long, and a file served again within 10 s is still hot.
     */
    static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(MappedFiles.class);

    static final MappedFiles SHARED = new MappedFiles(
            SystemPropertyUtil.getBoolean(ENABLED_PROPERTY, true) && Unmapper.INSTANCE != null,
            SystemPropertyUtil.getLong(MAX_BYTES_PROPERTY, DEFAULT_MAX_MAPPED_BYTES), IDLE_NANOS);

    private final boolean enabled;
    private final long maxMappedBytes;
    private final long idleNanos;
    private final Map<Key, Mapping> mappings = new ConcurrentHashMap<>();
    private final AtomicLong mappedBytes = new AtomicLong();
    /** When idle mappings were last looked for; at most one sweep per tenth of the idle time. */
    private final AtomicLong lastSweepNanos = new AtomicLong(System.nanoTime());

    MappedFiles(boolean enabled, long maxMappedBytes, long idleNanos) {
        if (maxMappedBytes < 0) {
            throw new IllegalArgumentException("maxMappedBytes: " + maxMappedBytes + " (expected: >= 0)");
        }
        this.enabled = enabled && Unmapper.INSTANCE != null;
        this.maxMappedBytes = maxMappedBytes;
        this.idleNanos = idleNanos;
    }

    boolean isEnabled() {
        return enabled;
    }

    /** Bytes mapped now, evicted mappings still in use included. */
    long mappedBytes() {
        return mappedBytes.get();
    }

    /**
     * A mapping of the file a record's region reads, with one reference for the caller (release it), or
     * {@code null} when it is not mapped: a region that is neither a {@link KtlsFileRegion} nor a
     * {@code DefaultFileRegion} made from a {@code File}, a file too small or too large, unreadable, the cache
     * off or full of mappings in use.
     */
    Mapping acquire(FileRegion region) {
        if (!enabled) {
            return null;
        }
        if (region instanceof KtlsFileRegion) {
            return acquire((KtlsFileRegion) region);
        }
        return acquire(DefaultFileRegionAccess.fileOf(region));
    }

    /**
     * A mapping of {@code region}'s file, keyed by the identity it was opened with and mapped through its own
     * channel: whatever the path names by now, the mapping holds the file the region was opened on.
     */
    Mapping acquire(KtlsFileRegion region) {
        Object fileKey = region.fileKey();
        long size = region.fileSize();
        if (!enabled || fileKey == null || !worthMapping(size)) {
            return null;
        }
        FileChannel channel = region.channel();
        return acquire(new Key(fileKey, size, region.lastModifiedMillis()), key -> {
            if (!channel.isOpen() || channel.size() != key.size) {
                return null; // resized since it was opened: leave it to pread, which sees what the file holds
            }
            return map(channel, key);
        });
    }

    /**
     * A mapping of {@code file} with one reference for the caller (release it), or {@code null} when the file is
     * not mapped (too small, too large, unreadable, cache off or full of mappings in use).
     */
    Mapping acquire(File file) {
        if (!enabled || file == null) {
            return null;
        }
        Key fileKey;
        try {
            BasicFileAttributes attributes = Files.readAttributes(file.toPath(), BasicFileAttributes.class);
            if (!attributes.isRegularFile() || !worthMapping(attributes.size())) {
                return null;
            }
            fileKey = new Key(attributes.fileKey() != null ? attributes.fileKey() : file.getAbsolutePath(),
                              attributes.size(), attributes.lastModifiedTime().toMillis());
        } catch (IOException | RuntimeException e) {
            return null; // pread reports the problem, if there is one
        }
        return acquire(fileKey, key -> {
            try (FileChannel channel = FileChannel.open(file.toPath(), StandardOpenOption.READ)) {
                if (channel.size() != key.size) {
                    return null; // changed since the attributes were read: leave it to pread
                }
                return map(channel, key);
            }
        });
    }

    private boolean worthMapping(long size) {
        return size >= MIN_FILE_BYTES && size <= Integer.MAX_VALUE && size <= maxMappedBytes;
    }

    private Mapping acquire(Key key, FileMapper mapper) {
        for (;;) {
            Mapping mapping = mappings.get(key);
            if (mapping == null) {
                try {
                    mapping = mapper.map(key);
                } catch (IOException | RuntimeException e) {
                    logger.debug("mapping {} failed; reading it instead", key, e);
                    return null;
                }
                if (mapping == null) {
                    return null;
                }
                Mapping raced = mappings.putIfAbsent(key, mapping);
                if (raced != null) {
                    mapping.release(); // never published: unmapped here
                    continue;
                }
                evictBeyondLimit(mapping);
            }
            if (mapping.tryRetain()) {
                long now = System.nanoTime();
                mapping.lastAcquiredNanos = now;
                sweepIdle(now);
                return mapping;
            }
            // Evicted and unmapped between get and retain: drop the stale entry if still there, then retry.
            mappings.remove(key, mapping);
        }
    }

    private Mapping map(FileChannel channel, Key key) throws IOException {
        Mapping mapping = Unmapper.INSTANCE.map(channel, key.size, this);
        mappedBytes.addAndGet(key.size);
        return mapping;
    }

    /** Maps the file a key names, or returns {@code null} when it no longer matches the key. */
    @FunctionalInterface
    private interface FileMapper {
        Mapping map(Key key) throws IOException;
    }

    private void sweepIdle(long now) {
        long last = lastSweepNanos.get();
        if (now - last < idleNanos / 10 || !lastSweepNanos.compareAndSet(last, now)) {
            return;
        }
        for (Map.Entry<Key, Mapping> entry : mappings.entrySet()) {
            if (now - entry.getValue().lastAcquiredNanos > idleNanos
                && mappings.remove(entry.getKey(), entry.getValue())) {
                entry.getValue().release(); // the cache's own reference
            }
        }
    }

    /** Drops the least recently acquired mappings (never {@code keep}) until the cache is within its limit. */
    private void evictBeyondLimit(Mapping keep) {
        while (mappedBytes.get() > maxMappedBytes) {
            Map.Entry<Key, Mapping> oldest = null;
            for (Map.Entry<Key, Mapping> entry : mappings.entrySet()) {
                if (entry.getValue() != keep
                    && (oldest == null || entry.getValue().lastAcquiredNanos - oldest.getValue().lastAcquiredNanos < 0)) {
                    oldest = entry;
                }
            }
            if (oldest == null) {
                return; // only mappings in use by this call: over the limit until they go
            }
            if (mappings.remove(oldest.getKey(), oldest.getValue())) {
                oldest.getValue().release(); // the cache's own reference
            }
        }
    }

    /** Unmaps everything not in use (tests, shutdown). */
    void clear() {
        for (Map.Entry<Key, Mapping> entry : mappings.entrySet()) {
            if (mappings.remove(entry.getKey(), entry.getValue())) {
                entry.getValue().release();
            }
        }
    }

    /**
     * One mapped file. References: one for the cache while it is in the map, one per sealer using it; the last
     * release unmaps. {@link #slice} is valid while the caller holds a reference.
     */
    static final class Mapping {
        private final ByteBuffer buffer;
        private final Object unmapToken;
        private final MappedFiles owner;
        private final AtomicInteger refCnt = new AtomicInteger(1);
        volatile long lastAcquiredNanos = System.nanoTime();

        Mapping(ByteBuffer buffer, Object unmapToken, MappedFiles owner) {
            this.buffer = buffer;
            this.unmapToken = unmapToken;
            this.owner = owner;
        }

        long size() {
            return buffer.capacity();
        }

        /** The bytes {@code [position, position + length)} of the file; the caller checked the bounds. */
        ByteBuffer slice(long position, int length) {
            assert position >= 0 && position + length <= buffer.capacity() : position + "+" + length;
            return buffer.slice((int) position, length);
        }

        boolean tryRetain() {
            for (;;) {
                int count = refCnt.get();
                if (count == 0) {
                    return false;
                }
                if (refCnt.compareAndSet(count, count + 1)) {
                    return true;
                }
            }
        }

        void release() {
            int count = refCnt.decrementAndGet();
            assert count >= 0 : "released more often than retained: " + count;
            if (count == 0) {
                owner.mappedBytes.addAndGet(-buffer.capacity());
                Unmapper.INSTANCE.unmap(this);
            }
        }

        int refCnt() {
            return refCnt.get();
        }
    }

    private record Key(Object fileKey, long size, long lastModifiedMillis) {
        Key {
            Objects.requireNonNull(fileKey, "fileKey");
        }
    }

    /**
     * Maps and unmaps deterministically: {@code FileChannel.map(mode, position, size, Arena)} with a shared arena
     * on JDK 22+ (looked up reflectively, the module targets 17), else {@code FileChannel.map} and Netty's
     * cleaner (JDK 17 to 21). {@link #INSTANCE} is null where neither works.
     */
    private abstract static class Unmapper {
        static final Unmapper INSTANCE = create();

        abstract Mapping map(FileChannel channel, long size, MappedFiles owner) throws IOException;

        abstract void unmap(Mapping mapping);

        private static Unmapper create() {
            try {
                if (Runtime.version().feature() >= 22) {
                    return new ArenaUnmapper();
                }
                return PlatformDependent.hasUnsafe() && PlatformDependent.javaVersion() >= 9 ? new CleanerUnmapper()
                                                                                               : null;
            } catch (Throwable t) {
                logger.debug("file mappings unavailable: no way to unmap", t);
                return null;
            }
        }
    }

    private static final class CleanerUnmapper extends Unmapper {
        @Override
        Mapping map(FileChannel channel, long size, MappedFiles owner) throws IOException {
            ByteBuffer buffer = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
            return new Mapping(buffer, buffer, owner);
        }

        @Override
        @SuppressWarnings("deprecation") // Netty's only way to run a direct buffer's cleaner on JDK 9 to 21
        void unmap(Mapping mapping) {
            PlatformDependent.freeDirectBuffer((ByteBuffer) mapping.unmapToken);
        }
    }

    private static final class ArenaUnmapper extends Unmapper {
        private final MethodHandle ofShared;
        private final MethodHandle map;
        private final MethodHandle asByteBuffer;
        private final MethodHandle close;

        ArenaUnmapper() throws ReflectiveOperationException {
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            Class<?> arena = Class.forName("java.lang.foreign.Arena");
            Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
            ofShared = lookup.findStatic(arena, "ofShared", MethodType.methodType(arena));
            map = lookup.findVirtual(FileChannel.class, "map", MethodType.methodType(segment,
                    FileChannel.MapMode.class, long.class, long.class, arena));
            asByteBuffer = lookup.findVirtual(segment, "asByteBuffer", MethodType.methodType(ByteBuffer.class));
            close = lookup.findVirtual(arena, "close", MethodType.methodType(void.class));
        }

        @Override
        Mapping map(FileChannel channel, long size, MappedFiles owner) throws IOException {
            Object arena;
            try {
                arena = ofShared.invoke();
            } catch (Throwable t) {
                throw new IOException("Arena.ofShared failed", t);
            }
            try {
                Object segment = map.invoke(channel, FileChannel.MapMode.READ_ONLY, 0L, size, arena);
                return new Mapping((ByteBuffer) asByteBuffer.invoke(segment), arena, owner);
            } catch (Throwable t) {
                closeArena(arena);
                if (t instanceof IOException) {
                    throw (IOException) t;
                }
                throw new IOException("mapping failed", t);
            }
        }

        @Override
        void unmap(Mapping mapping) {
            closeArena(mapping.unmapToken);
        }

        private void closeArena(Object arena) {
            try {
                close.invoke(arena);
            } catch (Throwable t) {
                logger.warn("unmapping a file failed; it stays mapped", t);
            }
        }
    }
}
