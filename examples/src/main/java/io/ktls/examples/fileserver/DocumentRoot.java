package io.ktls.examples.fileserver;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Maps request targets to files under the served folder, refusing anything that could lead outside it.
 *
 * <p>Steps for a target such as {@code /docs/a%20b.txt?x=1}:
 * <ol>
 *   <li>drop the query and fragment; the path must start with {@code /} (otherwise 400);</li>
 *   <li>refuse encoded separators and NUL ({@code %2f}, {@code %5c}, {@code %00}) before decoding: 403;</li>
 *   <li>percent-decode as UTF-8 (malformed escapes or UTF-8: 400);</li>
 *   <li>refuse backslashes and any {@code ..} segment (whether sent literally or as {@code %2e%2e}): 403,
 *       even when the result would stay inside the root, so no normalisation is ever trusted;</li>
 *   <li>resolve the segments under the real root and look at each ({@code lstat}): a path with no symbolic
 *       link in it is real as it stands; one with a link is resolved with {@code toRealPath()}, which follows
 *       every link, and the result must still start with the real root (otherwise 403); missing files: 404;
 *       files the server may not read: 403 (when opened).</li>
 * </ol>
 * Immutable and thread-safe; every lookup goes to the file system, and the attributes it read are the ones the
 * response is built from.
 */
final class DocumentRoot {

    /** The outcome of {@link #resolve}: a status and, for 200, the real path and its attributes then. */
    static final class Resolution {
        final int status;
        final Path path;
        final BasicFileAttributes attributes;
        final String reason;

        private Resolution(int status, Path path, BasicFileAttributes attributes, String reason) {
            this.status = status;
            this.path = path;
            this.attributes = attributes;
            this.reason = reason;
        }

        static Resolution found(Path path, BasicFileAttributes attributes) {
            return new Resolution(200, path, attributes, null);
        }

        static Resolution refused(int status, String reason) {
            return new Resolution(status, null, null, reason);
        }

        boolean isFound() {
            return status == 200;
        }

        @Override
        public String toString() {
            return isFound() ? "200 " + path : status + " (" + reason + ')';
        }
    }

    private final Path realRoot;

    DocumentRoot(Path root) throws IOException {
        this.realRoot = root.toRealPath();
        if (!Files.isDirectory(realRoot)) {
            throw new IllegalArgumentException("root: " + root + " (expected: a directory)");
        }
    }

    Path realRoot() {
        return realRoot;
    }

    /** The decoded path of a request target (query dropped), or null if it cannot be decoded. */
    static String decodedPath(String target) {
        String raw = rawPath(target);
        return raw == null ? null : percentDecode(raw);
    }

    Resolution resolve(String target) {
        String raw = rawPath(target);
        if (raw == null || !raw.startsWith("/")) {
            return Resolution.refused(400, "not an origin-form path");
        }
        String lower = raw.toLowerCase(Locale.ROOT);
        if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00")) {
            return Resolution.refused(403, "encoded separator or NUL");
        }
        String decoded = percentDecode(raw);
        if (decoded == null) {
            return Resolution.refused(400, "malformed percent-encoding");
        }
        if (decoded.indexOf('\\') >= 0 || decoded.indexOf('\0') >= 0) {
            return Resolution.refused(403, "backslash or NUL");
        }
        List<String> names = new ArrayList<>();
        for (String segment : decoded.split("/")) {
            if (segment.equals("..")) {
                return Resolution.refused(403, "parent segment");
            }
            if (!segment.isEmpty() && !segment.equals(".")) {
                names.add(segment);
            }
        }
        try {
            // Most paths hold no link: one lstat per segment below the (real) root proves the path real, and the
            // last one is the file's attributes. Only a path through a link pays for toRealPath and a stat.
            BasicFileAttributes attributes = null;
            Path walked = realRoot;
            for (int i = 0; i < names.size(); i++) {
                walked = walked.resolve(names.get(i));
                attributes = Files.readAttributes(walked, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (attributes.isSymbolicLink()) {
                    Path candidate = walked;
                    for (String rest : names.subList(i + 1, names.size())) {
                        candidate = candidate.resolve(rest);
                    }
                    return resolveLinked(candidate);
                }
            }
            return Resolution.found(walked, attributes != null ? attributes
                    : Files.readAttributes(walked, BasicFileAttributes.class));
        } catch (NoSuchFileException e) {
            return Resolution.refused(404, "no such file");
        } catch (AccessDeniedException e) {
            return Resolution.refused(403, "access denied");
        } catch (IOException | SecurityException e) {
            return Resolution.refused(404, "unreadable: " + e.getClass().getSimpleName());
        }
    }

    /** A path through a symbolic link: every link followed, and the result must still be under the root. */
    private Resolution resolveLinked(Path candidate) throws IOException {
        Path real = candidate.toRealPath();
        if (!real.startsWith(realRoot)) {
            return Resolution.refused(403, "outside the root");
        }
        return Resolution.found(real, Files.readAttributes(real, BasicFileAttributes.class));
    }

    /** The target without its query and fragment, as sent (not decoded); null for a null target. */
    static String rawPath(String target) {
        if (target == null) {
            return null;
        }
        int end = target.length();
        int q = target.indexOf('?');
        if (q >= 0) {
            end = q;
        }
        int h = target.indexOf('#');
        if (h >= 0 && h < end) {
            end = h;
        }
        return target.substring(0, end);
    }

    /** RFC 3986 percent-decoding as UTF-8; {@code +} stays a plus (it means space only in queries). */
    static String percentDecode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    return null;
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    return null;
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if (c < 0x80) {
                bytes.write(c);
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
