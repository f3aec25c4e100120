package io.ktls.examples.fileserver;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain HTML page listing a folder: sub-folders first, then files, each sorted by name. Names are
 * escaped for HTML and percent-encoded in links, so a file called {@code <script>} or {@code a&b} is
 * shown as text and still downloadable.
 */
final class DirectoryListing {

    private DirectoryListing() {
    }

    /**
     * @param directory   the folder to list (already resolved under the root)
     * @param requestPath the decoded request path, ending with {@code /}
     */
    static String render(Path directory, String requestPath) throws IOException {
        List<String> folders = new ArrayList<>();
        List<String> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                (Files.isDirectory(entry) ? folders : files).add(name);
            }
        }
        folders.sort(null);
        files.sort(null);
        String title = "Index of " + escape(requestPath);
        StringBuilder html = new StringBuilder(256 + 64 * (folders.size() + files.size()));
        html.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(title)
                .append("</title></head>\n<body><h1>").append(title).append("</h1>\n<ul>\n");
        if (!requestPath.equals("/")) {
            html.append("<li><a href=\"../\">../</a></li>\n");
        }
        for (String name : folders) {
            html.append("<li><a href=\"").append(encode(name)).append("/\">").append(escape(name))
                    .append("/</a></li>\n");
        }
        for (String name : files) {
            html.append("<li><a href=\"").append(encode(name)).append("\">").append(escape(name))
                    .append("</a></li>\n");
        }
        return html.append("</ul>\n</body></html>\n").toString();
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<': out.append("&lt;"); break;
                case '>': out.append("&gt;"); break;
                case '&': out.append("&amp;"); break;
                case '"': out.append("&quot;"); break;
                case '\'': out.append("&#39;"); break;
                default: out.append(c);
            }
        }
        return out.toString();
    }

    /** A path segment percent-encoded for an href ({@code URLEncoder} writes spaces as {@code +}). */
    static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
