package io.ktls.examples.fileserver;

import io.ktls.handler.KtlsFileRegion;
import io.netty.util.concurrent.FastThreadLocal;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The files one event loop keeps open between requests, as nginx's {@code open_file_cache}: a request for a
 * file served a moment ago costs no {@code open}, {@code fstat} or {@code close}, and the response is a
 * {@linkplain KtlsFileRegion#retainedSlice slice} of the region kept for that file.
 *
 * <p>What a request may take from the cache:
 * <ul>
 *   <li>within {@code validNanos} of the last look at its path, the entry as it is: no system call at all
 *       ({@code --open-files-valid}; 0, the default, never skips the look);</li>
 *   <li>after that, the path is resolved again ({@link DocumentRoot#resolve}: the {@code lstat} of each segment),
 *       and the kept file is used only if the path still names it, unchanged: same file key, size and
 *       modification time, the check {@link KtlsFileRegion#open} makes. Otherwise the kept file is closed and the
 *       new one opened. A path that no longer resolves to a file drops its entry.</li>
 * </ul>
 * So with the default a replaced, resized or touched file is never answered from the cache, and a file changed in
 * place without a new modification time is served as it would be without the cache (its bytes as read).
 *
 * <p>Bounds: at most {@code maxFiles} files per event loop, least recently used closed first; an entry unused for
 * {@link #IDLE_NANOS} is closed on a later lookup (so a deleted file does not keep its disk space for long on a
 * busy server). A response in flight holds its slice, so closing an entry never cuts a response short: the file
 * closes with its last slice.
 *
 * <p>Threads: one instance per event loop ({@link PerLoop}), used only by that loop; {@link PerLoop#close()}
 * runs once the loops have stopped.
 */
final class OpenFileCache {

    /** An entry unused this long is closed at the next lookup that finds it the least recently used. */
    static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(60);

    /** A kept file: what its path resolved to, when that was last checked, and the region of the whole file. */
    static final class Entry {
        final Path path;
        final BasicFileAttributes attributes;
        final KtlsFileRegion region;
        long checkedNanos;
        long usedNanos;

        Entry(Path path, BasicFileAttributes attributes, KtlsFileRegion region, long nowNanos) {
            this.path = path;
            this.attributes = attributes;
            this.region = region;
            this.checkedNanos = nowNanos;
            this.usedNanos = nowNanos;
        }
    }

    /** The caches of a server's event loops: one per loop thread, made on its first request. */
    static final class PerLoop implements AutoCloseable {
        private final int maxFiles;
        private final long validNanos;
        private final LongAdder hits = new LongAdder();
        private final LongAdder misses = new LongAdder();
        /** Every cache made, for {@link #close()}; added to by the loops, read after they stopped. */
        private final List<OpenFileCache> all = new ArrayList<>();
        private final FastThreadLocal<OpenFileCache> local = new FastThreadLocal<>() {
            @Override
            protected OpenFileCache initialValue() {
                OpenFileCache cache = new OpenFileCache(maxFiles, validNanos, hits, misses);
                synchronized (all) {
                    all.add(cache);
                }
                return cache;
            }
        };

        /** {@code maxFiles} per event loop (0: none kept); {@code validMillis} without a look at the path. */
        PerLoop(int maxFiles, long validMillis) {
            if (maxFiles < 0 || validMillis < 0) {
                throw new IllegalArgumentException("maxFiles: " + maxFiles + ", validMillis: " + validMillis
                        + " (expected: >= 0)");
            }
            this.maxFiles = maxFiles;
            this.validNanos = TimeUnit.MILLISECONDS.toNanos(validMillis);
        }

        boolean isEnabled() {
            return maxFiles > 0;
        }

        /** The calling event loop's cache. */
        OpenFileCache get() {
            return local.get();
        }

        long hits() {
            return hits.sum();
        }

        long misses() {
            return misses.sum();
        }

        /** Closes every kept file; call once the event loops have stopped. */
        @Override
        public void close() {
            synchronized (all) {
                for (OpenFileCache cache : all) {
                    cache.clear();
                }
                all.clear();
            }
        }
    }

    private final int maxFiles;
    private final long validNanos;
    private final LongAdder hits;
    private final LongAdder misses;
    /** By request path (query dropped), least recently used first. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);

    OpenFileCache(int maxFiles, long validNanos, LongAdder hits, LongAdder misses) {
        this.maxFiles = maxFiles;
        this.validNanos = validNanos;
        this.hits = hits;
        this.misses = misses;
    }

    /**
     * The entry of {@code requestPath} if its path was checked within the validity, else null: the caller resolves
     * the path and calls {@link #open}.
     */
    Entry fresh(String requestPath, long nowNanos) {
        closeIdle(nowNanos);
        if (validNanos == 0) {
            return null;
        }
        Entry entry = entries.get(requestPath);
        if (entry == null || nowNanos - entry.checkedNanos >= validNanos) {
            return null;
        }
        entry.usedNanos = nowNanos;
        hits.increment();
        return entry;
    }

    /**
     * The kept file of {@code requestPath} if the path, just resolved to {@code path} with {@code attributes},
     * still names it unchanged; else the file opened now and kept. Throws as {@link KtlsFileRegion#open}, which
     * refuses anything but a regular file before opening it.
     */
    Entry open(String requestPath, Path path, BasicFileAttributes attributes, long nowNanos) throws IOException {
        Entry entry = entries.get(requestPath);
        if (entry != null) {
            if (entry.path.equals(path) && KtlsFileRegion.sameFile(entry.attributes, attributes)) {
                entry.checkedNanos = nowNanos;
                entry.usedNanos = nowNanos;
                hits.increment();
                return entry;
            }
            entries.remove(requestPath);
            entry.region.release();
        }
        misses.increment();
        KtlsFileRegion region = KtlsFileRegion.open(path, attributes, 0, attributes.size());
        entry = new Entry(path, attributes, region, nowNanos);
        entries.put(requestPath, entry);
        if (entries.size() > maxFiles) {
            Iterator<Entry> eldest = entries.values().iterator();
            Entry evicted = eldest.next();
            eldest.remove();
            evicted.region.release();
        }
        return entry;
    }

    /** {@code requestPath} no longer names a file that can be served: its kept file, if any, is closed. */
    void forget(String requestPath) {
        Entry entry = entries.remove(requestPath);
        if (entry != null) {
            entry.region.release();
        }
    }

    int size() {
        return entries.size();
    }

    /** Closes the least recently used entries that have been idle too long (at most a few per call). */
    private void closeIdle(long nowNanos) {
        Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
        for (int i = 0; i < 4 && it.hasNext(); i++) {
            Entry entry = it.next().getValue();
            if (nowNanos - entry.usedNanos < IDLE_NANOS) {
                return;
            }
            it.remove();
            entry.region.release();
        }
    }

    private void clear() {
        for (Entry entry : entries.values()) {
            entry.region.release();
        }
        entries.clear();
    }
}
