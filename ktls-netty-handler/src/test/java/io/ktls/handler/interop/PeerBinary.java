package io.ktls.handler.interop;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds an external peer's executable on the {@code PATH}. A missing peer skips its tests on a developer's
 * machine but fails them when {@code CI=true}, where {@code .ci/install-peers} must have installed it: the
 * interop proof must never pass by running nothing.
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

    /** The executable's path; a test failure on CI or a skipped test elsewhere when it is not installed. */
    static String require(String name, String debianPackage) {
        Optional<Path> found = find(name);
        if (found.isPresent()) {
            return found.get().toString();
        }
        String message = name + " is not installed (Debian package " + debianPackage
                + "; .ci/install-peers installs it)";
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(message + ": the interop suite must not skip a peer on CI");
        }
        Assumptions.abort(message);
        throw new AssertionError("unreachable");
    }
}
