package io.ktls.examples.fileserver;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * One line per request in the Common Log Format, plus the time taken:
 * {@code 127.0.0.1 - - [24/Nov/2026:19:30:00 +0000] "GET /a.txt HTTP/1.1" 200 1234 0.8ms}.
 * Written to stderr when the response has been handed to the socket (or failed). Thread-safe:
 * {@link PrintStream} serialises whole lines.
 */
final class AccessLog {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT);

    private final PrintStream out;

    AccessLog(PrintStream out) {
        this.out = out;
    }

    void log(SocketAddress remote, String requestLine, int status, long bodyBytes, long startNanos) {
        String host = remote instanceof InetSocketAddress
                ? ((InetSocketAddress) remote).getAddress().getHostAddress() : String.valueOf(remote);
        double millis = (System.nanoTime() - startNanos) / 1e6;
        out.println(host + " - - [" + TIME.format(ZonedDateTime.now()) + "] \"" + sanitize(requestLine) + "\" "
                + status + ' ' + (bodyBytes > 0 ? Long.toString(bodyBytes) : "-")
                + String.format(Locale.ROOT, " %.1fms", millis));
    }

    /** Keeps a hostile request line from forging log lines or terminal escapes. */
    private static String sanitize(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
