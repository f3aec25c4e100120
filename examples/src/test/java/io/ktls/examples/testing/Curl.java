package io.ktls.examples.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code curl} and returns what it got: status, headers, body. */
public final class Curl {

    /** One response as curl saw it. */
    public static final class Response {
        public final int status;
        public final Map<String, String> headers;
        public final byte[] body;
        public final String stderr;

        Response(int status, Map<String, String> headers, byte[] body, String stderr) {
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.stderr = stderr;
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return status + " " + headers + " (" + body.length + " bytes)";
        }
    }

    private Curl() {
    }

    /** {@code curl -sS -k -D headers -o body -w %{http_code} [args] url}; the last response's headers. */
    public static Response fetch(Path scratch, String url, String... args) throws IOException, InterruptedException {
        String curl = Peers.require("curl");
        Path headers = Files.createTempFile(scratch, "headers", ".txt");
        Path body = Files.createTempFile(scratch, "body", ".bin");
        List<String> command = new ArrayList<>(List.of(curl, "-sS", "-k", "--max-time", "60",
                "-D", headers.toString(), "-o", body.toString(), "-w", "%{http_code}"));
        command.addAll(List.of(args));
        command.add(url);
        Process p = new ProcessBuilder(command).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("curl hung: " + command);
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("curl exited with " + p.exitValue() + ": " + command + "\n" + err);
        }
        Map<String, String> parsed = new TreeMap<>();
        for (String line : Files.readAllLines(headers, StandardCharsets.ISO_8859_1)) {
            if (line.startsWith("HTTP/")) {
                parsed.clear(); // keep only the last response (after 100-continue or redirects)
                continue;
            }
            int colon = line.indexOf(':');
            if (colon > 0) {
                parsed.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return new Response(Integer.parseInt(new String(out, StandardCharsets.US_ASCII).trim()), parsed,
                Files.readAllBytes(body), err);
    }
}
