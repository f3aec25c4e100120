package io.ktls.examples.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.File;

/**
 * The real programs the interop tests talk to. Missing locally: the test is skipped. Missing on CI
 * ({@code CI=true}, where {@code .ci/install-peers} installs them): the test fails.
 */
public final class Peers {

    private Peers() {
    }

    public static String require(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            File candidate = new File(dir, program);
            if (candidate.isFile() && candidate.canExecute()) {
                return candidate.getPath();
            }
        }
        String message = program + " is not installed (run .ci/install-peers)";
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(message);
        }
        Assumptions.abort(message);
        return null;
    }
}
