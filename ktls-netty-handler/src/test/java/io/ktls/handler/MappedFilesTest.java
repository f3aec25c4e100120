package io.ktls.handler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MappedFilesTest {

    private static final int FILE_BYTES = 200 * 1024;

    @TempDir
    Path dir;

    @Test
    void sliceHoldsTheFileBytesAtThatPosition() throws IOException {
        byte[] content = write("a.bin", FILE_BYTES, 1);
        MappedFiles files = new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS);
        MappedFiles.Mapping mapping = files.acquire(dir.resolve("a.bin").toFile());
        assertNotNull(mapping, "a 200 KiB file is mapped");
        assertEquals(FILE_BYTES, mapping.size());
        assertArrayEquals(slice(content, 70_000, 16384), bytes(mapping.slice(70_000, 16384)));
        assertArrayEquals(slice(content, FILE_BYTES - 5, 5), bytes(mapping.slice(FILE_BYTES - 5, 5)));
        mapping.release();
        files.clear();
        assertEquals(0, files.mappedBytes());
        assertEquals(0, mapping.refCnt());
    }

    @Test
    void oneFileSharesOneMappingWhileCached() throws IOException {
        write("a.bin", FILE_BYTES, 2);
        MappedFiles files = new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS);
        MappedFiles.Mapping first = files.acquire(dir.resolve("a.bin").toFile());
        MappedFiles.Mapping second = files.acquire(dir.resolve("a.bin").toFile());
        assertSame(first, second);
        assertEquals(3, first.refCnt(), "the cache's reference and two users");
        assertEquals(FILE_BYTES, files.mappedBytes());
        first.release();
        second.release();
        files.clear();
        assertEquals(0, first.refCnt());
    }

    @Test
    void smallFilesDisabledCacheAndMissingFilesAreRead() throws IOException {
        write("small.bin", (int) MappedFiles.MIN_FILE_BYTES - 1, 3);
        write("a.bin", FILE_BYTES, 3);
        MappedFiles files = new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS);
        assertNull(files.acquire(dir.resolve("small.bin").toFile()));
        assertNull(files.acquire(dir.resolve("missing.bin").toFile()));
        assertNull(files.acquire((java.io.File) null));
        assertNull(new MappedFiles(false, 1L << 30, MappedFiles.IDLE_NANOS).acquire(dir.resolve("a.bin").toFile()));
        assertNull(new MappedFiles(true, FILE_BYTES - 1, MappedFiles.IDLE_NANOS).acquire(dir.resolve("a.bin").toFile()),
                "a file larger than the whole cache");
        assertEquals(0, files.mappedBytes());
    }

    @Test
    void evictedMappingStaysReadableUntilItsLastUserReleasesIt() throws IOException {
        byte[] a = write("a.bin", FILE_BYTES, 4);
        write("b.bin", FILE_BYTES, 5);
        MappedFiles files = new MappedFiles(true, FILE_BYTES + FILE_BYTES / 2, MappedFiles.IDLE_NANOS);
        MappedFiles.Mapping held = files.acquire(dir.resolve("a.bin").toFile());
        MappedFiles.Mapping other = files.acquire(dir.resolve("b.bin").toFile());
        assertNotNull(other);
        assertEquals(2L * FILE_BYTES, files.mappedBytes(), "a left the cache but is still in use");
        assertEquals(1, held.refCnt(), "only the user's reference is left");
        assertArrayEquals(slice(a, 0, 100), bytes(held.slice(0, 100)));
        held.release();
        assertEquals(FILE_BYTES, files.mappedBytes(), "unmapped by its last release");
        MappedFiles.Mapping again = files.acquire(dir.resolve("a.bin").toFile());
        assertNotSame(held, again, "mapped anew after eviction");
        assertArrayEquals(slice(a, 0, 100), bytes(again.slice(0, 100)));
        again.release();
        other.release();
        files.clear();
        assertEquals(0, files.mappedBytes());
    }

    @Test
    void fileReplacedByRenameIsMappedAnew() throws IOException {
        write("a.bin", FILE_BYTES, 6);
        MappedFiles files = new MappedFiles(true, 1L << 30, MappedFiles.IDLE_NANOS);
        MappedFiles.Mapping old = files.acquire(dir.resolve("a.bin").toFile());
        old.release();
        byte[] replacement = write("next.bin", FILE_BYTES, 7);
        Files.move(dir.resolve("next.bin"), dir.resolve("a.bin"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        MappedFiles.Mapping fresh = files.acquire(dir.resolve("a.bin").toFile());
        assertNotSame(old, fresh);
        assertArrayEquals(slice(replacement, 1000, 4096), bytes(fresh.slice(1000, 4096)));
        fresh.release();
        files.clear();
        assertEquals(0, files.mappedBytes());
        assertTrue(old.refCnt() == 0 && fresh.refCnt() == 0);
    }

    @Test
    void idleMappingIsUnmappedWhenAnotherFileIsAcquired() throws Exception {
        write("a.bin", FILE_BYTES, 8);
        write("b.bin", FILE_BYTES, 9);
        long idleNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50);
        MappedFiles files = new MappedFiles(true, 1L << 30, idleNanos);
        MappedFiles.Mapping idle = files.acquire(dir.resolve("a.bin").toFile());
        idle.release();
        assertEquals(1, idle.refCnt(), "cached");
        Thread.sleep(120);
        MappedFiles.Mapping other = files.acquire(dir.resolve("b.bin").toFile());
        assertEquals(0, idle.refCnt(), "idle for longer than " + idleNanos + " ns: unmapped");
        assertEquals(FILE_BYTES, files.mappedBytes());
        other.release();
        files.clear();
        assertEquals(0, files.mappedBytes());
    }

    private byte[] write(String name, int length, long seed) throws IOException {
        byte[] content = new byte[length];
        new Random(seed).nextBytes(content);
        Files.write(dir.resolve(name), content);
        return content;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    private static byte[] slice(byte[] bytes, int offset, int length) {
        byte[] out = new byte[length];
        System.arraycopy(bytes, offset, out, 0, length);
        return out;
    }
}
