package io.ktls.examples.fileserver;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AccessLogTest {

    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);

    @TempDir
    Path dir;

    @Test
    void aLineIsCommonLogFormatPlusTheTimeTaken() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = AccessLog.to(out, 16);
        log.log(CLIENT, "GET /a.txt HTTP/1.1", 200, 1234, System.nanoTime());
        log.log(CLIENT, "HEAD /b HTTP/1.1", 404, 0, System.nanoTime());
        log.close();
        String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length, out.toString(StandardCharsets.UTF_8));
        assertTrue(lines[0].matches("127\\.0\\.0\\.1 - - \\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}] "
                + "\"GET /a\\.txt HTTP/1\\.1\" 200 1234 \\d+\\.\\dms"), lines[0]);
        assertTrue(lines[1].matches(".*\"HEAD /b HTTP/1\\.1\" 404 - \\d+\\.\\dms"), lines[1]);
    }

    @Test
    void aHostileRequestLineCannotForgeALineOrAnEscape() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = AccessLog.to(out, 16);
        log.log(CLIENT, "GET /x\n127.0.0.1 - - \"\u001b[31m\\ HTTP/1.1", 400, 0, System.nanoTime());
        log.close();
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(1, text.split("\n").length, text);
        assertTrue(text.contains("\"GET /x\\x0a127.0.0.1 - - \\x22\\x1b[31m\\x5c HTTP/1.1\" 400 -"), text);
    }

    @Test
    void everyLineFromEveryThreadIsWrittenWholeBeforeCloseReturns() throws Exception {
        int threads = 4;
        int perThread = 5_000;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = AccessLog.to(out, threads * perThread);
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> loops = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread loop = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    log.log(CLIENT, "GET /" + thread + "/" + i + " HTTP/1.1", 200, i + 1, System.nanoTime());
                }
            });
            loop.start();
            loops.add(loop);
        }
        start.countDown();
        for (Thread loop : loops) {
            loop.join();
        }
        log.close();
        Set<String> seen = new HashSet<>();
        for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            assertTrue(line.matches("127\\.0\\.0\\.1 - - \\[[^]]+] \"GET /\\d/\\d+ HTTP/1\\.1\" 200 \\d+ \\d+\\.\\dms"), line);
            assertTrue(seen.add(line.substring(line.indexOf('"'), line.lastIndexOf('"'))), "twice: " + line);
        }
        assertEquals(threads * perThread, seen.size());
        assertEquals(0, log.linesDropped());
    }

    @Test
    void aLogThatCannotKeepUpDropsLinesAndCountsThem() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger writes = new AtomicInteger();
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream stuck = new OutputStream() { // a terminal that stops reading, until released
            @Override
            public void write(int b) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                writes.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                written.write(b, off, len);
            }
        };
        AccessLog log = AccessLog.to(stuck, 10);
        log.log(CLIENT, "GET /first HTTP/1.1", 200, 1, System.nanoTime());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (writes.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(1); // until the writer is stuck in its first write
        }
        assertEquals(1, writes.get());
        for (int i = 0; i < 25; i++) {
            log.log(CLIENT, "GET /" + i + " HTTP/1.1", 200, 1, System.nanoTime());
        }
        assertEquals(15, log.linesDropped());
        release.countDown();
        log.close();
        String text = written.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\"GET /9 HTTP/1.1\""), text);
        assertFalse(text.contains("\"GET /10 HTTP/1.1\""), text);
        assertTrue(text.contains("access log: 15 lines dropped, more than 10 were waiting"), text);
    }

    @Test
    void aFileIsAppendedToAndOffLogsNothing() throws Exception {
        Path file = Files.writeString(dir.resolve("access.log"), "an earlier line\n");
        AccessLog log = AccessLog.toFile(file);
        assertTrue(log.isOn());
        log.log(CLIENT, "GET / HTTP/1.1", 200, 10, System.nanoTime());
        log.close();
        log.close();
        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.size(), lines.toString());
        assertEquals("an earlier line", lines.get(0));
        assertTrue(lines.get(1).contains("\"GET / HTTP/1.1\" 200 10 "), lines.get(1));

        assertFalse(AccessLog.OFF.isOn());
        AccessLog.OFF.log(CLIENT, "GET / HTTP/1.1", 200, 10, System.nanoTime());
        assertEquals(0, AccessLog.OFF.linesDropped());
        AccessLog.OFF.close();
    }
}
