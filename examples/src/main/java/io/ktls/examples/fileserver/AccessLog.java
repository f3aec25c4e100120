package io.ktls.examples.fileserver;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * One line per request in the Common Log Format, plus the time taken:
 * {@code 127.0.0.1 - - [24/Nov/2026:19:30:00 +0000] "GET /a.txt HTTP/1.1" 200 1234 0.8ms}, logged when the
 * response has been handed to the socket (or failed), to stderr or a file ({@code --access-log}), or nowhere
 * ({@link #OFF}).
 *
 * <p>Cheap on the event loop: {@link #log} only packs the request's fields into an {@link Entry} and adds it to a
 * lock-free queue, with no lock, no wake-up and no system call. The thread {@code access-log} formats the
 * entries and writes them in batches of up to {@value #BATCH_CHARS} characters, one {@code write(2)} per batch,
 * whenever it finds the queue non-empty; then it sleeps {@value #DRAIN_INTERVAL_MILLIS} ms. So a line reaches
 * the log at most about that much after its response, a busy server writes a few times per interval instead of
 * once per request, and no event loop ever waits for a terminal or a disk. Like nginx's
 * {@code access_log ... buffer=}, lines of different requests are written in completion order.
 *
 * <p>Bounded: at most {@code maxQueuedLines} entries wait; beyond that {@link #log} drops the line and counts
 * it ({@link #linesDropped()}, in {@code /_stats}) rather than let a log slower than the requests grow the heap
 * without limit; the writer also notes each run of drops in the log itself.
 *
 * <p>Threads: any event loop calls {@link #log}; only the writer thread polls, formats and writes. An entry's
 * fields are final and {@code ConcurrentLinkedQueue}'s offer happens-before the poll that returns it, which is
 * all the writer needs. {@link #close} is called once, by the main thread after the event loops have stopped:
 * it tells the writer to drain the queue, flush and end, and waits for it.
 */
final class AccessLog implements AutoCloseable {

    /** Logs nothing: {@code --access-log off}. */
    static final AccessLog OFF = new AccessLog();

    /** Bounds the delay of a line and the number of wake-ups of an idle server (50 a second). */
    static final long DRAIN_INTERVAL_MILLIS = 20;
    /** About 300 lines: one write per 32 KiB keeps the system calls per request small on a busy server. */
    static final int BATCH_CHARS = 32 * 1024;
    /** Lines in a second at 64k requests a second, each about 100 bytes: a 6 MiB ceiling on the backlog. */
    static final int DEFAULT_MAX_QUEUED_LINES = 65_536;
    /** How long {@link #close} waits for the writer to drain the queue before giving up on the rest. */
    private static final long CLOSE_TIMEOUT_MILLIS = 5_000;

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneId.systemDefault());

    /** What {@link #log} hands to the writer: the formatting is the writer's. */
    private record Entry(SocketAddress remote, String requestLine, int status, long bodyBytes, long elapsedNanos,
                         long epochMillis) {
    }

    // Written by the event loops.
    private final Queue<Entry> queue;
    /** Entries in {@link #queue}: {@code ConcurrentLinkedQueue.size()} walks the whole queue. */
    private final AtomicInteger queued = new AtomicInteger();
    private final LongAdder dropped = new LongAdder();
    private final int maxQueuedLines;

    // The writer thread's, apart from closing, set once by the main thread.
    private final OutputStream out;
    /** Whether {@link #close} closes {@link #out}: a file we opened, not stderr. */
    private final boolean ownsOut;
    private final Thread writer;
    private volatile boolean closing;
    private final StringBuilder batch = new StringBuilder(BATCH_CHARS + 1024);
    private long cachedSecond = Long.MIN_VALUE;
    private String cachedTime = "";
    private long droppedReported;

    private AccessLog() {
        queue = null;
        maxQueuedLines = 0;
        out = null;
        ownsOut = false;
        writer = null;
    }

    private AccessLog(OutputStream out, boolean ownsOut, int maxQueuedLines) {
        if (maxQueuedLines < 1) {
            throw new IllegalArgumentException("maxQueuedLines: " + maxQueuedLines + " (expected: > 0)");
        }
        this.queue = new ConcurrentLinkedQueue<>();
        this.maxQueuedLines = maxQueuedLines;
        this.out = out;
        this.ownsOut = ownsOut;
        this.writer = new Thread(this::drainUntilClosed, "access-log");
        writer.setDaemon(true); // a stuck terminal must not keep the JVM alive; close() drains what it can
        writer.start();
    }

    /** Lines to {@code stream} (stderr: {@code --access-log on}, the default); {@link #close} leaves it open. */
    static AccessLog to(PrintStream stream) {
        return new AccessLog(stream, false, DEFAULT_MAX_QUEUED_LINES);
    }

    /** Lines appended to {@code file} ({@code --access-log FILE}), created if need be; closed by {@link #close}. */
    static AccessLog toFile(Path file) throws IOException {
        return new AccessLog(new FileOutputStream(file.toFile(), true), true, DEFAULT_MAX_QUEUED_LINES);
    }

    /** For tests: lines to {@code out}, at most {@code maxQueuedLines} waiting. */
    static AccessLog to(OutputStream out, int maxQueuedLines) {
        return new AccessLog(out, false, maxQueuedLines);
    }

    /** Called on an event loop when a response is complete; never blocks. */
    void log(SocketAddress remote, String requestLine, int status, long bodyBytes, long startNanos) {
        if (queue == null || closing) {
            return;
        }
        if (queued.incrementAndGet() > maxQueuedLines) {
            queued.decrementAndGet();
            dropped.increment();
            return;
        }
        queue.offer(new Entry(remote, requestLine, status, bodyBytes, System.nanoTime() - startNanos,
                System.currentTimeMillis()));
    }

    /** Lines not logged because {@code maxQueuedLines} were already waiting. */
    long linesDropped() {
        return dropped.sum();
    }

    boolean isOn() {
        return queue != null;
    }

    /** Writes what is queued, stops the writer and closes the file; idempotent. */
    @Override
    public void close() throws InterruptedException {
        if (writer == null || closing) {
            return;
        }
        closing = true;
        LockSupport.unpark(writer);
        writer.join(CLOSE_TIMEOUT_MILLIS);
    }

    private void drainUntilClosed() {
        try {
            while (true) {
                boolean last = closing; // read before draining: every entry offered before close() is seen
                drain();
                if (last) {
                    break;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(DRAIN_INTERVAL_MILLIS));
            }
        } catch (IOException e) {
            System.err.println("access log: " + e + "; no further lines are logged");
            closing = true;
            queue.clear();
        } finally {
            if (ownsOut) {
                try {
                    out.close();
                } catch (IOException e) {
                    System.err.println("access log: " + e);
                }
            }
        }
    }

    private void drain() throws IOException {
        Entry e;
        while ((e = queue.poll()) != null) {
            queued.decrementAndGet();
            format(e, batch);
            if (batch.length() >= BATCH_CHARS) {
                writeBatch();
            }
        }
        long droppedNow = dropped.sum();
        if (droppedNow != droppedReported) {
            batch.append("access log: ").append(droppedNow - droppedReported).append(" lines dropped, more than ")
                    .append(maxQueuedLines).append(" were waiting\n");
            droppedReported = droppedNow;
        }
        writeBatch();
    }

    private void writeBatch() throws IOException {
        if (batch.length() == 0) {
            return;
        }
        out.write(batch.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        batch.setLength(0);
    }

    private void format(Entry e, StringBuilder line) {
        SocketAddress remote = e.remote;
        line.append(remote instanceof InetSocketAddress
                ? ((InetSocketAddress) remote).getAddress().getHostAddress() : String.valueOf(remote));
        line.append(" - - [").append(time(e.epochMillis)).append("] \"");
        sanitize(e.requestLine, line);
        line.append("\" ").append(e.status).append(' ');
        if (e.bodyBytes > 0) {
            line.append(e.bodyBytes);
        } else {
            line.append('-');
        }
        long tenthsOfMillis = (e.elapsedNanos + 50_000) / 100_000;
        line.append(' ').append(tenthsOfMillis / 10).append('.').append(tenthsOfMillis % 10).append("ms\n");
    }

    /** The timestamp changes once a second: formatted once a second. */
    private String time(long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        if (second != cachedSecond) {
            cachedSecond = second;
            cachedTime = TIME.format(Instant.ofEpochSecond(second));
        }
        return cachedTime;
    }

    /** Keeps a hostile request line from forging log lines or terminal escapes. */
    static void sanitize(String s, StringBuilder out) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                out.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
            } else {
                out.append(c);
            }
        }
    }
}
