package io.ktls.handler;

import io.netty.channel.DefaultFileRegion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reflection into {@link DefaultFileRegion} works on the Netty we build against: if Netty renamed its fields,
 * files would silently lose their mappings and positional reads (the fallbacks still send the right bytes), and
 * only this test would notice.
 */
class DefaultFileRegionAccessTest {

    @TempDir
    Path dir;

    @Test
    void aRegionMadeFromAFileGivesItsFileAndItsOpenedChannel() throws IOException {
        Path path = dir.resolve("a.bin");
        Files.write(path, new byte[1000]);
        File file = path.toFile();
        DefaultFileRegion region = new DefaultFileRegion(file, 0, 1000);
        try {
            assertSame(file, DefaultFileRegionAccess.fileOf(region));
            assertFalse(region.isOpen(), "not opened until a channel is asked for");
            FileChannel channel = DefaultFileRegionAccess.channelOf(region);
            assertNotNull(channel);
            assertTrue(channel.isOpen());
            assertEquals(1000, channel.size());
        } finally {
            region.release();
        }
    }

    @Test
    void aRegionMadeFromAChannelGivesThatChannelAndNoFile() throws IOException {
        Path path = dir.resolve("b.bin");
        Files.write(path, new byte[10]);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            DefaultFileRegion region = new DefaultFileRegion(channel, 0, 10);
            assertSame(channel, DefaultFileRegionAccess.channelOf(region));
            assertNull(DefaultFileRegionAccess.fileOf(region), "no path to map");
        }
    }

    @Test
    void anyOtherRegionGivesNeither() throws IOException {
        KtlsFileTransferTest.ByteArrayRegion region = new KtlsFileTransferTest.ByteArrayRegion(new byte[10]);
        try {
            assertNull(DefaultFileRegionAccess.channelOf(region));
            assertNull(DefaultFileRegionAccess.fileOf(region));
        } finally {
            region.release();
        }
    }
}
