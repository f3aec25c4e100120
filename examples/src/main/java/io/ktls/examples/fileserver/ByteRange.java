package io.ktls.examples.fileserver;

import java.util.Locale;

/**
 * One byte range of a {@code Range} header (RFC 9110 section 14), resolved against a file length.
 *
 * <p>Only single ranges are served as 206: a header with several ranges is ignored and the whole file
 * is sent with 200, which RFC 9110 allows (a server may ignore {@code Range}) and spares a
 * {@code multipart/byteranges} body. Headers that do not parse, or use a unit other than
 * {@code bytes}, are ignored the same way. A well-formed single range that starts at or beyond the end
 * of the file (or a zero-length suffix) is unsatisfiable: 416.
 */
final class ByteRange {

    enum Kind {
        /** Send the whole file with 200. */
        WHOLE,
        /** Send {@link #first()}..{@link #last()} with 206. */
        PARTIAL,
        /** 416, with {@code Content-Range: bytes *}{@code /length}. */
        UNSATISFIABLE
    }

    private static final ByteRange WHOLE = new ByteRange(Kind.WHOLE, -1, -1);
    private static final ByteRange UNSATISFIABLE = new ByteRange(Kind.UNSATISFIABLE, -1, -1);

    private final Kind kind;
    private final long first;
    private final long last;

    private ByteRange(Kind kind, long first, long last) {
        this.kind = kind;
        this.first = first;
        this.last = last;
    }

    Kind kind() {
        return kind;
    }

    /** First byte offset, inclusive. */
    long first() {
        return first;
    }

    /** Last byte offset, inclusive. */
    long last() {
        return last;
    }

    long length() {
        return last - first + 1;
    }

    /**
     * @param header the {@code Range} header value, or null
     * @param fileLength the current length of the file
     */
    static ByteRange parse(String header, long fileLength) {
        if (header == null) {
            return WHOLE;
        }
        String h = header.trim();
        int eq = h.indexOf('=');
        if (eq < 0 || !h.substring(0, eq).trim().toLowerCase(Locale.ROOT).equals("bytes")) {
            return WHOLE;
        }
        String spec = h.substring(eq + 1).trim();
        if (spec.indexOf(',') >= 0) {
            return WHOLE;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return WHOLE;
        }
        String from = spec.substring(0, dash).trim();
        String to = spec.substring(dash + 1).trim();
        if (from.isEmpty()) {
            long suffix = digits(to);
            if (suffix < 0) {
                return WHOLE;
            }
            if (suffix == 0 || fileLength == 0) {
                return UNSATISFIABLE;
            }
            return new ByteRange(Kind.PARTIAL, Math.max(0, fileLength - suffix), fileLength - 1);
        }
        long first = digits(from);
        long last = to.isEmpty() ? Long.MAX_VALUE : digits(to);
        if (first < 0 || last < 0 || last < first) {
            return WHOLE;
        }
        if (first >= fileLength) {
            return UNSATISFIABLE;
        }
        return new ByteRange(Kind.PARTIAL, first, Math.min(last, fileLength - 1));
    }

    /** A non-negative decimal number, or -1 for anything else (including overflow). */
    private static long digits(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    @Override
    public String toString() {
        return kind == Kind.PARTIAL ? "bytes " + first + '-' + last : kind.toString();
    }
}
