package io.ktls.handler.interop;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The payload of each size as a file, for downloads served from disk ({@code FileRegion} through
 * {@code KtlsHandler}, {@code ChunkedNioFile} through {@code SslHandler}). Written once per test JVM into a
 * temporary folder that is deleted at exit.
 */
final class PayloadFiles {

    private static final Map<Long, Path> FILES = new ConcurrentHashMap<>();
    private static volatile Path directory;

    private PayloadFiles() {
    }

    /** The file's name in its folder. */
    static String name(long size) {
        return "payload-" + size + ".bin";
    }

    static Path get(long size) {
        return FILES.computeIfAbsent(size, PayloadFiles::write);
    }

    private static Path write(long size) {
        try {
            Path file = directory().resolve(name(size));
            try (OutputStream out = Files.newOutputStream(file)) {
                Payload.writeTo(out, size);
            }
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path directory() throws IOException {
        Path dir = directory;
        if (dir == null) {
            synchronized (PayloadFiles.class) {
                dir = directory;
                if (dir == null) {
                    dir = Files.createTempDirectory("ktls-interop-payload");
                    dir.toFile().deleteOnExit();
                    directory = dir;
                }
            }
        }
        return dir;
    }
}
