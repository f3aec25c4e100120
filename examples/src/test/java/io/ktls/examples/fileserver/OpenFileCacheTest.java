package io.ktls.examples.fileserver;

import io.ktls.handler.KtlsFileRegion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpenFileCacheTest {

    private static final long VALID = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path dir;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    @Test
    void anUnchangedFileIsOpenedOnce() throws IOException {
        Path file = write("a.txt", "aaaa");
        OpenFileCache cache = new OpenFileCache(4, 0, hits, misses);
        OpenFileCache.Entry first = cache.open("/a.txt", file, attributes(file), 0);
        OpenFileCache.Entry second = cache.open("/a.txt", file, attributes(file), 1);
        assertSame(first, second);
        assertEquals(1, misses.sum());
        assertEquals(1, hits.sum());
        assertEquals(1, first.region.refCnt(), "only the cache holds the kept region");
    }

    @Test
    void aReplacedFileIsOpenedAgainAndTheOldOneClosesWithItsLastResponse() throws IOException {
        Path file = write("a.txt", "old!");
        OpenFileCache cache = new OpenFileCache(4, 0, hits, misses);
        OpenFileCache.Entry old = cache.open("/a.txt", file, attributes(file), 0);
        KtlsFileRegion inFlight = old.region.retainedSlice(0, 4); // a response still being sent

        Path replacement = write("b.txt", "new!");
        Files.setLastModifiedTime(replacement, old.attributes.lastModifiedTime());
        Files.move(replacement, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        OpenFileCache.Entry now = cache.open("/a.txt", file, attributes(file), 1);

        assertNotSame(old, now, "same size and time, another file: opened again");
        assertEquals(2, misses.sum());
        assertEquals(1, old.region.refCnt(), "the cache let go of the old file; the response still holds it");
        inFlight.release();
        assertEquals(0, old.region.refCnt());
        now.region.release();
    }

    @Test
    void aTouchedFileIsOpenedAgain() throws IOException {
        Path file = write("a.txt", "aaaa");
        OpenFileCache cache = new OpenFileCache(4, 0, hits, misses);
        OpenFileCache.Entry first = cache.open("/a.txt", file, attributes(file), 0);
        Files.setLastModifiedTime(file, FileTime.fromMillis(first.attributes.lastModifiedTime().toMillis() - 60_000));
        OpenFileCache.Entry second = cache.open("/a.txt", file, attributes(file), 1);
        assertNotSame(first, second);
        assertEquals(0, first.region.refCnt());
    }

    @Test
    void theAttributesMustStillDescribeTheFileWhenItIsOpened() throws IOException {
        Path file = write("a.txt", "aaaa");
        BasicFileAttributes before = attributes(file);
        Files.setLastModifiedTime(file, FileTime.fromMillis(before.lastModifiedTime().toMillis() - 60_000));
        OpenFileCache cache = new OpenFileCache(4, 0, hits, misses);
        assertThrows(KtlsFileRegion.FileChangedException.class, () -> cache.open("/a.txt", file, before, 0));
        assertEquals(0, cache.size(), "nothing kept from a failed open");
    }

    @Test
    void theLeastRecentlyUsedFileIsClosedBeyondTheBound() throws IOException {
        OpenFileCache cache = new OpenFileCache(2, 0, hits, misses);
        Path a = write("a", "a");
        Path b = write("b", "b");
        Path c = write("c", "c");
        OpenFileCache.Entry ea = cache.open("/a", a, attributes(a), 0);
        OpenFileCache.Entry eb = cache.open("/b", b, attributes(b), 1);
        cache.open("/a", a, attributes(a), 2); // a is now the most recently used
        OpenFileCache.Entry ec = cache.open("/c", c, attributes(c), 3);
        assertEquals(2, cache.size());
        assertEquals(0, eb.region.refCnt(), "b was the least recently used");
        assertEquals(1, ea.region.refCnt());
        assertEquals(1, ec.region.refCnt());
    }

    @Test
    void withinTheValidityAnEntryIsServedWithoutALook() throws IOException {
        Path file = write("a.txt", "aaaa");
        OpenFileCache cache = new OpenFileCache(4, VALID, hits, misses);
        assertNull(cache.fresh("/a.txt", 0), "nothing kept yet");
        OpenFileCache.Entry entry = cache.open("/a.txt", file, attributes(file), 0);
        assertSame(entry, cache.fresh("/a.txt", VALID - 1));
        assertNull(cache.fresh("/a.txt", VALID), "due for a look at its path");
        assertNull(new OpenFileCache(4, 0, hits, misses).fresh("/a.txt", 0), "validity 0: always a look");
    }

    @Test
    void aPathThatNoLongerNamesAFileDropsItsEntry() throws IOException {
        Path file = write("a.txt", "aaaa");
        OpenFileCache cache = new OpenFileCache(4, VALID, hits, misses);
        OpenFileCache.Entry entry = cache.open("/a.txt", file, attributes(file), 0);
        cache.forget("/a.txt");
        assertEquals(0, entry.region.refCnt());
        assertEquals(0, cache.size());
        cache.forget("/never-kept"); // nothing to do
    }

    @Test
    void anIdleEntryIsClosedAtALaterLookup() throws IOException {
        Path a = write("a", "a");
        Path b = write("b", "b");
        OpenFileCache cache = new OpenFileCache(4, 0, hits, misses);
        OpenFileCache.Entry old = cache.open("/a", a, attributes(a), 0);
        OpenFileCache.Entry recent = cache.open("/b", b, attributes(b), OpenFileCache.IDLE_NANOS);
        cache.fresh("/b", OpenFileCache.IDLE_NANOS + 1);
        assertEquals(0, old.region.refCnt(), "unused for longer than the idle time");
        assertEquals(1, recent.region.refCnt());
    }

    @Test
    void closingTheLoopsCachesClosesEveryKeptFile() throws Exception {
        Path file = write("a.txt", "aaaa");
        OpenFileCache.PerLoop perLoop = new OpenFileCache.PerLoop(4, 0);
        OpenFileCache.Entry[] kept = new OpenFileCache.Entry[2];
        Thread[] loops = new Thread[2];
        for (int i = 0; i < loops.length; i++) {
            int n = i;
            loops[i] = new Thread(() -> {
                try {
                    kept[n] = perLoop.get().open("/a.txt", file, attributes(file), 0);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            loops[i].start();
        }
        for (Thread loop : loops) {
            loop.join();
        }
        assertNotSame(kept[0], kept[1], "each loop keeps its own");
        assertEquals(2, perLoop.misses());
        perLoop.close();
        assertEquals(0, kept[0].region.refCnt());
        assertEquals(0, kept[1].region.refCnt());
        assertFalse(new OpenFileCache.PerLoop(0, 0).isEnabled());
        assertTrue(perLoop.isEnabled());
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private static BasicFileAttributes attributes(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class);
    }
}
