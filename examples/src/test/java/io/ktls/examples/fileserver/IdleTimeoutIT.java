package io.ktls.examples.fileserver;

import io.ktls.examples.testing.Curl;
import io.ktls.examples.testing.Json;
import io.ktls.examples.testing.RawHttp;
import io.ktls.examples.testing.ServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --idle-timeout 1} on the packaged server, in offload and plain mode: quiet connections are closed
 * about a second after their last byte, whatever stage they stopped at (before the handshake, inside a
 * request, between requests), while a download slower than the timeout is left alone and arrives whole.
 * Also: {@code --transport auto} (the default) runs on epoll.
 */
@Tag("interop")
class IdleTimeoutIT {

    private static final long TIMEOUT_MILLIS = 1000;
    /** Well under SslHandler's own 10 s handshake timeout, well over one idle timeout plus a JVM's hiccup. */
    private static final long CLOSED_WITHIN_MILLIS = 4000;
    /** Far more than the kernel buffers of both ends hold with the client's small receive buffer. */
    private static final int LARGE_BYTES = 32 * 1024 * 1024;
    private static final int CLIENT_RECEIVE_BUFFER_BYTES = 64 * 1024;
    /** Reading LARGE_BYTES at this rate takes about three idle timeouts. */
    private static final long SLOW_READ_BYTES_PER_SECOND = 10L * 1024 * 1024;
    private static final FileServersByMode SERVERS = new FileServersByMode();

    private static Path base;
    private static Path root;
    private static byte[] large;

    @BeforeAll
    static void createRoot() throws IOException {
        base = Files.createTempDirectory("ktls-idle-it");
        root = Files.createDirectory(base.resolve("root"));
        Files.createDirectory(base.resolve("scratch"));
        large = new byte[LARGE_BYTES];
        new Random(7).nextBytes(large);
        Files.write(root.resolve("large.bin"), large);
        Files.writeString(root.resolve("small.txt"), "hello\n");
    }

    @AfterAll
    static void stopServers() throws Exception {
        SERVERS.stopAll();
    }

    private static ServerProcess server(String mode) {
        return SERVERS.get(mode, "--root", root.toString(),
                "--idle-timeout", String.valueOf(TIMEOUT_MILLIS / 1000));
    }

    private static String scheme(String mode) {
        return mode.equals("plain") ? "http" : "https";
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "plain"})
    void keepAliveConnectionIdleAfterAResponseIsClosedAfterTheTimeout(String mode) throws Exception {
        ServerProcess server = server(mode);
        long closedBefore = idleClosed(server);
        try (Socket socket = RawHttp.open(scheme(mode), server.port())) {
            send(socket, "GET /small.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
            long sentNanos = System.nanoTime();
            String answer = readUntilClosed(socket);
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos);
            assertTrue(answer.startsWith("HTTP/1.1 200 OK") && answer.endsWith("\r\n\r\nhello\n"), answer);
            assertClosedAfterTheTimeout(elapsedMillis);
        }
        assertEquals(closedBefore + 1, idleClosed(server));
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "plain"})
    void requestThatStopsMidwayIsClosedAfterTheTimeout(String mode) throws Exception {
        ServerProcess server = server(mode);
        try (Socket socket = RawHttp.open(scheme(mode), server.port())) {
            send(socket, "GET /small.txt HTTP/1.1\r\nHost: loc");
            long sentNanos = System.nanoTime();
            String answer = readUntilClosed(socket);
            assertClosedAfterTheTimeout(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos));
            assertEquals("", answer);
        }
    }

    @Test
    void tcpConnectionThatNeverStartsTheHandshakeIsClosedAfterTheTimeout() throws Exception {
        ServerProcess server = server("offload");
        long closedBefore = idleClosed(server);
        try (Socket socket = RawHttp.open("http", server.port())) {
            long connectedNanos = System.nanoTime();
            readUntilClosed(socket); // maybe an alert: the server may say why it closes
            assertClosedAfterTheTimeout(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedNanos));
        }
        assertEquals(closedBefore + 1, idleClosed(server));
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "plain"})
    void downloadSlowerThanTheTimeoutArrivesByteExact(String mode) throws Exception {
        ServerProcess server = server(mode);
        long startNanos = System.nanoTime();
        try (Socket socket = RawHttp.open(scheme(mode), server.port(), CLIENT_RECEIVE_BUFFER_BYTES)) {
            send(socket, "GET /large.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            InputStream in = socket.getInputStream();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200 OK"), head);
            assertTrue(head.toLowerCase(Locale.ROOT).contains("content-length: " + LARGE_BYTES), head);
            byte[] body = new byte[LARGE_BYTES];
            int received = readPaced(in, body, LARGE_BYTES, startNanos);
            assertEquals(LARGE_BYTES, received, "body bytes before the server closed");
            assertArrayEquals(large, body);
        }
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        assertTrue(elapsedMillis > 2 * TIMEOUT_MILLIS, "the download took only " + elapsedMillis + " ms");
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "plain"})
    void downloadWhoseClientStopsReadingIsClosed(String mode) throws Exception {
        ServerProcess server = server(mode);
        long closedBefore = idleClosed(server);
        try (Socket socket = RawHttp.open(scheme(mode), server.port(), CLIENT_RECEIVE_BUFFER_BYTES)) {
            send(socket, "GET /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
            InputStream in = socket.getInputStream();
            readHead(in);
            byte[] body = new byte[LARGE_BYTES];
            int received = readPaced(in, body, 1024 * 1024, System.nanoTime());
            // The client stalls: within two timeouts of the last progress the server gives up on it.
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * TIMEOUT_MILLIS + CLOSED_WITHIN_MILLIS);
            while (idleClosed(server) == closedBefore && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(closedBefore + 1, idleClosed(server), "connections closed while idle");
            socket.setSoTimeout((int) CLOSED_WITHIN_MILLIS);
            long total = received + drain(in);
            assertTrue(total < LARGE_BYTES, "the whole body arrived: the connection was not closed");
        }
    }

    @Test
    void autoTransportRunsOnEpoll() throws Exception {
        ServerProcess server = server("plain");
        Object stats = Json.parse(Curl.fetch(base.resolve("scratch"), server.baseUrl() + "/_stats").bodyText());
        assertEquals("epoll", Json.path(stats, "server", "transport"));
        assertTrue(server.stderr().contains("transport epoll (chosen by auto)"), server.stderr());
        assertTrue(server.stderr().contains("idle timeout 1 s"), server.stderr());
    }

    private static void assertClosedAfterTheTimeout(long elapsedMillis) {
        assertTrue(elapsedMillis >= TIMEOUT_MILLIS - 100 && elapsedMillis < CLOSED_WITHIN_MILLIS,
                "closed after " + elapsedMillis + " ms (expected: about " + TIMEOUT_MILLIS + ")");
    }

    private static long idleClosed(ServerProcess server) throws Exception {
        Object stats = Json.parse(Curl.fetch(base.resolve("scratch"), server.baseUrl() + "/_stats").bodyText());
        return (Long) Json.path(stats, "server", "connectionsIdleClosed");
    }

    private static void send(Socket socket, String request) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(request.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** Everything until the server closes (a reset or a missing close_notify count as closed too). */
    private static String readUntilClosed(Socket socket) throws IOException {
        socket.setSoTimeout((int) CLOSED_WITHIN_MILLIS * 2);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            InputStream in = socket.getInputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("still open after " + 2 * CLOSED_WITHIN_MILLIS + " ms", e);
        } catch (IOException e) {
            // closed abruptly: what was read is the answer
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    /** The response head, up to and including the blank line, read byte by byte so no body byte is taken. */
    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed inside the response head: " + head);
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /**
     * Reads up to {@code count} bytes into {@code body}, no faster than {@link #SLOW_READ_BYTES_PER_SECOND}
     * counted from {@code startNanos}, until the count or the end of the stream.
     *
     * @return the bytes read
     */
    private static int readPaced(InputStream in, byte[] body, int count, long startNanos) throws IOException {
        int read = 0;
        try {
            while (read < count) {
                int n = in.read(body, read, Math.min(16 * 1024, count - read));
                if (n < 0) {
                    break;
                }
                read += n;
                long dueNanos = startNanos + read * TimeUnit.SECONDS.toNanos(1) / SLOW_READ_BYTES_PER_SECOND;
                long aheadMillis = TimeUnit.NANOSECONDS.toMillis(dueNanos - System.nanoTime());
                if (aheadMillis > 0) {
                    Thread.sleep(aheadMillis);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (IOException e) {
            // closed abruptly: the bytes read so far are the answer
        }
        return read;
    }

    /** Reads and counts what is left until the stream ends, abruptly or not. */
    private static long drain(InputStream in) {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                total += n;
            }
        } catch (IOException e) {
            // closed abruptly: counted so far
        }
        return total;
    }
}
