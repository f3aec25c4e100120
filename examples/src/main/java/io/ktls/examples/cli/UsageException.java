package io.ktls.examples.cli;

/**
 * A command line that cannot be run: an unknown option, a missing or malformed value. The programs print
 * the message and their usage to stderr and exit with status 2.
 */
public final class UsageException extends Exception {

    public UsageException(String message) {
        super(message);
    }
}
