package io.ktls.examples.fileserver;

import io.ktls.examples.testing.Curl;
import io.ktls.examples.testing.Json;
import io.ktls.examples.testing.Peers;
import io.ktls.examples.testing.RawHttp;
import io.ktls.examples.testing.ServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The file server as users run it: {@code java -jar ktls-file-server.jar} in each mode, fetched with curl
 * and wget (and raw sockets for what those will not send). One server process per mode serves every test
 * of the class; {@link #stopServers()} then checks each exits with 0 on SIGTERM and leaked nothing.
 */
@Tag("interop")
class FileServerHttpIT {

    private static final int BIG_BYTES = 5 * 1024 * 1024 + 123; // several records and a ragged end
    private static final FileServersByMode SERVERS = new FileServersByMode();

    private static Path base;
    private static Path root;
    private static Path scratch;
    private static byte[] big;

    @BeforeAll
    static void createRoot() throws IOException {
        base = Files.createTempDirectory("ktls-fileserver-it");
        root = Files.createDirectory(base.resolve("root"));
        scratch = Files.createDirectory(base.resolve("scratch"));
        big = new byte[BIG_BYTES];
        new Random(42).nextBytes(big);
        Files.write(root.resolve("big.bin"), big);
        Files.writeString(root.resolve("small.txt"), "hello\n");
        Files.write(root.resolve("empty.txt"), new byte[0]);
        Files.createDirectory(root.resolve("sub"));
        Files.writeString(root.resolve("sub").resolve("inner.txt"), "inner\n");
        Files.writeString(root.resolve("<b>&amp.txt"), "tricky name\n");
        Files.writeString(base.resolve("secret.txt"), "SECRET outside the root\n");
        Files.createSymbolicLink(root.resolve("escape"), base.resolve("secret.txt"));
        Files.createSymbolicLink(root.resolve("inside"), root.resolve("small.txt"));
    }

    @AfterAll
    static void stopServers() throws Exception {
        SERVERS.stopAll();
    }

    private static ServerProcess server(String mode) {
        return SERVERS.get(mode, "--root", root.toString());
    }

    private static Curl.Response get(String mode, String path, String... curlArgs) throws Exception {
        return Curl.fetch(scratch, server(mode).baseUrl() + path, curlArgs);
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void announcesOneListeningLineWithTheSchemeOfTheMode(String mode) {
        String expected = (mode.equals("plain") ? "http" : "https") + "://127.0.0.1:" + server(mode).port() + "/";
        assertEquals("listening on " + expected, server(mode).firstLine());
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void wholeFilesArriveByteExactWithCurlAndWget(String mode) throws Exception {
        Curl.Response response = get(mode, "/big.bin");
        assertEquals(200, response.status, response.toString());
        assertEquals(sha256(big), sha256(response.body));
        assertEquals(String.valueOf(BIG_BYTES), response.header("content-length"));
        assertEquals("application/octet-stream", response.header("content-type"));
        assertNotNull(response.header("etag"));
        assertNotNull(response.header("last-modified"));

        Curl.Response small = get(mode, "/small.txt");
        assertEquals("hello\n", small.bodyText());
        assertEquals("text/plain; charset=utf-8", small.header("content-type"));
        Curl.Response empty = get(mode, "/empty.txt");
        assertEquals(200, empty.status);
        assertEquals(0, empty.body.length);

        String wget = Peers.require("wget");
        Path out = Files.createTempFile(scratch, "wget", ".bin");
        Process p = new ProcessBuilder(wget, "-q", "--no-check-certificate", "-O", out.toString(),
                server(mode).baseUrl() + "/big.bin").redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), output);
        assertEquals(sha256(big), sha256(Files.readAllBytes(out)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void singleByteRangesArriveByteExactWith206(String mode) throws Exception {
        long[][] ranges = {{0, 0}, {100, 200_000}, {BIG_BYTES - 1000, BIG_BYTES - 1}, {5_000_000, BIG_BYTES - 1}};
        String[] specs = {"0-0", "100-200000", "-1000", "5000000-"};
        for (int i = 0; i < specs.length; i++) {
            Curl.Response response = get(mode, "/big.bin", "-r", specs[i]);
            long first = ranges[i][0];
            long last = ranges[i][1];
            assertEquals(206, response.status, specs[i]);
            assertEquals("bytes " + first + "-" + last + "/" + BIG_BYTES, response.header("content-range"));
            assertArrayEquals(Arrays.copyOfRange(big, (int) first, (int) last + 1), response.body, specs[i]);
        }
        // Several ranges: served whole, with 200 (documented).
        Curl.Response multi = get(mode, "/big.bin", "-r", "0-9,20-29");
        assertEquals(200, multi.status);
        assertEquals(sha256(big), sha256(multi.body));
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler", "plain"})
    void unsatisfiableRangeAnswers416(String mode) throws Exception {
        Curl.Response response = get(mode, "/big.bin", "-r", BIG_BYTES + "-");
        assertEquals(416, response.status);
        assertEquals("bytes */" + BIG_BYTES, response.header("content-range"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler", "plain"})
    void conditionalRequestsAnswer304(String mode) throws Exception {
        Curl.Response first = get(mode, "/small.txt");
        String etag = first.header("etag");
        String lastModified = first.header("last-modified");

        Curl.Response byTag = get(mode, "/small.txt", "-H", "If-None-Match: " + etag);
        assertEquals(304, byTag.status);
        assertEquals(0, byTag.body.length);
        assertEquals(etag, byTag.header("etag"));

        Curl.Response byDate = get(mode, "/small.txt", "-H", "If-Modified-Since: " + lastModified);
        assertEquals(304, byDate.status);

        Curl.Response otherTag = get(mode, "/small.txt", "-H", "If-None-Match: \"other\"");
        assertEquals(200, otherTag.status);
        assertEquals("hello\n", otherTag.bodyText());

        Curl.Response oldDate = get(mode, "/small.txt", "-H", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT");
        assertEquals(200, oldDate.status);
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler", "plain"})
    void headAnswersHeadersWithoutBody(String mode) throws Exception {
        Curl.Response response = get(mode, "/big.bin", "-I");
        assertEquals(200, response.status);
        assertEquals(String.valueOf(BIG_BYTES), response.header("content-length"));
        // With -I curl writes the header block as its output: nothing may follow it.
        String output = response.bodyText();
        assertTrue(output.startsWith("HTTP/1.1 200 OK") && output.endsWith("\r\n\r\n")
                && output.indexOf("\r\n\r\n") == output.length() - 4, output);
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler", "plain"})
    void missingFilesAnswer404(String mode) throws Exception {
        assertEquals(404, get(mode, "/no-such-file").status);
        assertEquals(404, get(mode, "/sub/no-such-file").status);
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void pathsLeadingOutsideTheRootAnswer403(String mode) throws Exception {
        String[] attempts = {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
            "/sub/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/sub%2f..%2f..%2fsecret.txt", "/..%5csecret.txt",
            "/..\\secret.txt", "/escape"};
        for (String attempt : attempts) {
            Curl.Response response = get(mode, attempt, "--path-as-is");
            assertEquals(403, response.status, attempt);
            assertFalse(response.bodyText().contains("SECRET"), attempt);
        }
        Curl.Response inside = get(mode, "/inside");
        assertEquals(200, inside.status, "a symbolic link to a file under the root is served");
        assertEquals("hello\n", inside.bodyText());
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler", "plain"})
    void otherMethodsAnswer405WithAllow(String mode) throws Exception {
        for (String method : new String[] {"POST", "PUT", "DELETE", "OPTIONS"}) {
            Curl.Response response = get(mode, "/small.txt", "-X", method);
            assertEquals(405, response.status, method);
            assertEquals("GET, HEAD", response.header("allow"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void malformedRequestsAnswer400AndClose(String mode) throws Exception {
        ServerProcess server = server(mode);
        String scheme = mode.equals("plain") ? "http" : "https";
        for (String request : new String[] {"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", "GARBAGE\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"}) {
            String answer = RawHttp.exchange(scheme, server.port(), request);
            assertTrue(answer.startsWith("HTTP/1.1 400 Bad Request\r\n"), answer);
        }
    }

    /**
     * The open-file cache (on by default, looking at the path on every request) never answers with a file the
     * path no longer names: a file replaced, rewritten to another length or deleted between two requests on one
     * keep-alive connection is answered as it now is, while an unchanged file is served from the kept one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "plain"})
    void keptFilesFollowTheirPathWhenReplacedChangedOrDeleted(String mode) throws Exception {
        String name = "changing-" + mode + ".txt";
        Path file = root.resolve(name);
        Files.writeString(file, "first\n");
        long hitsBefore = openFileHits(mode);
        try (Socket socket = RawHttp.open(mode.equals("plain") ? "http" : "https", server(mode).port())) {
            socket.setSoTimeout(30_000);
            assertEquals("200 first\n", fetch(socket, name));
            assertEquals("200 first\n", fetch(socket, name));

            // Same length and modification time, another file: only the file key tells them apart.
            Path replacement = Files.writeString(scratch.resolve("replacement-" + mode), "again\n");
            Files.setLastModifiedTime(replacement, Files.getLastModifiedTime(file));
            Files.move(replacement, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertEquals("200 again\n", fetch(socket, name));

            Files.writeString(file, "third, longer\n"); // rewritten in place, to another length
            assertEquals("200 third, longer\n", fetch(socket, name));

            Files.delete(file);
            assertEquals("404 404 Not Found\n", fetch(socket, name));
        }
        assertTrue(openFileHits(mode) > hitsBefore, "the unchanged file came from the kept one");
    }

    /**
     * A named pipe under the root is answered at once, as an empty file, and never opened: opening it would wait
     * for a writer and hold the event loop (the open-file cache keeps regular files only).
     */
    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "plain"})
    void aNamedPipeIsNotOpened(String mode) throws Exception {
        String name = "pipe-" + mode;
        Process mkfifo = new ProcessBuilder("mkfifo", root.resolve(name).toString()).inheritIO().start();
        assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo");
        try (Socket socket = RawHttp.open(mode.equals("plain") ? "http" : "https", server(mode).port())) {
            socket.setSoTimeout(10_000);
            assertEquals("200 ", fetch(socket, name));
            assertEquals("200 hello\n", fetch(socket, "small.txt"), "the connection and its loop go on");
        } finally {
            Files.delete(root.resolve(name));
        }
    }

    /** One keep-alive GET on {@code socket}: the status code and the body. */
    private static String fetch(Socket socket, String name) throws IOException {
        socket.getOutputStream().write(("GET /" + name + " HTTP/1.1\r\nHost: x\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            assertTrue(b >= 0, "closed after " + head);
            head.append((char) b);
        }
        int length = -1;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        assertTrue(length >= 0, "no content-length: " + head);
        byte[] body = in.readNBytes(length);
        return head.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3) + ' '
                + new String(body, StandardCharsets.UTF_8);
    }

    private static long openFileHits(String mode) throws Exception {
        return (Long) Json.path(Json.parse(get(mode, "/_stats").bodyText()), "server", "openFileHits");
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void pipelinedRequestsAreAnsweredInOrder(String mode) throws Exception {
        ServerProcess server = server(mode);
        String scheme = mode.equals("plain") ? "http" : "https";
        String answer = RawHttp.exchange(scheme, server.port(),
                "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /no-such-file HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /sub/inner.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        List<String> statusLines = new ArrayList<>();
        for (String line : answer.split("\r\n|\n")) {
            if (line.startsWith("HTTP/1.1 ")) {
                statusLines.add(line);
            }
        }
        assertEquals(List.of("HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"),
                statusLines, answer);
        assertTrue(answer.indexOf("hello\n") < answer.indexOf("404 Not Found"), answer);
        assertTrue(answer.indexOf("404 Not Found") < answer.indexOf("inner\n"), answer);
        assertTrue(answer.endsWith("\r\n\r\n"), "HEAD has no body: " + answer);
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "sslhandler", "plain"})
    void foldersAreListedWithEscapedNames(String mode) throws Exception {
        Curl.Response listing = get(mode, "/");
        assertEquals(200, listing.status);
        assertEquals("text/html; charset=utf-8", listing.header("content-type"));
        String html = listing.bodyText();
        assertTrue(html.contains("<a href=\"%3Cb%3E%26amp.txt\">&lt;b&gt;&amp;amp.txt</a>"), html);
        assertTrue(html.contains("<a href=\"sub/\">sub/</a>"), html);
        assertFalse(html.contains("<b>"), html);

        Curl.Response redirect = get(mode, "/sub");
        assertEquals(301, redirect.status);
        assertEquals("/sub/", redirect.header("location"));
        assertTrue(get(mode, "/sub/").bodyText().contains("inner.txt"));
        Curl.Response tricky = get(mode, "/%3Cb%3E%26amp.txt");
        assertEquals("tricky name\n", tricky.bodyText());
    }

    @ParameterizedTest
    @ValueSource(strings = {"offload", "inline", "sslhandler", "plain"})
    void statsParseAndShowNothingInFlightOnceClientsFinish(String mode) throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, get(mode, "/big.bin").status);
        }
        assertEquals(206, get(mode, "/big.bin", "-r", "1000-").status);
        Object stats = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Curl.Response response = get(mode, "/_stats");
            assertEquals(200, response.status);
            assertEquals("application/json", response.header("content-type"));
            stats = Json.parse(response.bodyText());
            if (nothingInFlight(stats, mode)) {
                break;
            }
            Thread.sleep(100);
        }
        assertTrue(nothingInFlight(stats, mode), String.valueOf(stats));
        assertEquals(mode, Json.path(stats, "server", "mode"));
        assertTrue((Long) Json.path(stats, "server", "fileBytesSent") >= 4L * BIG_BYTES - 1000, String.valueOf(stats));
        if (!mode.equals("sslhandler") && !mode.equals("plain")) {
            assertEquals("PageRunAllocator", Json.path(stats, "allocator", "type"));
            assertTrue((Long) Json.path(stats, "ktls", "records", "sealed") > 4L * BIG_BYTES / 16384,
                    String.valueOf(stats));
            assertTrue((Long) Json.path(stats, "ktls", "sessions", "total") > 0);
            Map<?, ?> budget = serverBudget(stats);
            assertTrue((Long) budget.get("capacityBytes") > 0, String.valueOf(budget));
            assertTrue((Long) budget.get("peakUsedBytes") > 0, "the connections held records: " + budget);
            assertEquals(0L, budget.get("waitingConnections"));
        }
    }

    /** The one budget of record memory the server's connections share, from {@code /_stats}. */
    private static Map<?, ?> serverBudget(Object stats) {
        for (Object budget : (List<?>) Json.path(stats, "ktls", "recordMemoryBudgets")) {
            if ("server".equals(((Map<?, ?>) budget).get("name"))) {
                return (Map<?, ?>) budget;
            }
        }
        throw new AssertionError("no budget named server in " + stats);
    }

    private static boolean nothingInFlight(Object stats, String mode) {
        boolean idle = (Long) Json.path(stats, "server", "responsesInFlight") == 0;
        if (mode.equals("offload") || mode.equals("inline")) {
            idle &= (Long) Json.path(stats, "allocator", "inFlightRuns") == 0
                    && (Long) Json.path(stats, "allocator", "inFlightBytes") == 0
                    && (Long) Json.path(stats, "ktls", "records", "inFlight") == 0
                    && (Long) serverBudget(stats).get("usedBytes") == 0;
        }
        return idle;
    }

    static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
