package io.ktls.examples.transport;

import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into a graceful shutdown with exit status 0, instead of the JVM's default
 * (run shutdown hooks, exit 143/130). {@code sun.misc.Signal} lives in the {@code jdk.unsupported} module,
 * which every JDK from 9 on exports for exactly this purpose.
 */
final class ShutdownSignals {

    private ShutdownSignals() {
    }

    /** Runs {@code action} on the JVM's signal thread the first time either signal arrives. */
    static void install(Runnable action) {
        Signal.handle(new Signal("TERM"), signal -> action.run());
        Signal.handle(new Signal("INT"), signal -> action.run());
    }
}
