package io.ktls.examples.testing;

import java.io.File;

/**
 * The real programs the interop tests talk to. A missing one fails the test: README's test command installs
 * them first ({@code .ci/install-peers}).
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
        throw new AssertionError(program + " is not installed (run .ci/install-peers)");
    }
}
