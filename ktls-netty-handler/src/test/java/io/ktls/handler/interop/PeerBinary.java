package io.ktls.handler.interop;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds an external peer's executable on the {@code PATH}. A missing peer fails its tests: README's test
 * command installs every peer first ({@code .ci/install-peers}), and the interop proof must never pass by
 * running nothing.
 */
final class PeerBinary {

    private PeerBinary() {
    }

    static Optional<Path> find(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String directory : path.split(File.pathSeparator)) {
            Path candidate = Path.of(directory, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** The executable's path; a test failure when it is not installed. */
    static String require(String name, String debianPackage) {
        return find(name).map(Path::toString).orElseThrow(() -> new AssertionError(name
                + " is not installed (Debian package " + debianPackage + "; run .ci/install-peers)"));
    }
}
