/**
 * A server process's life, shared by the file server and {@code StreamServer}: event loops on the chosen socket
 * transport, the ready line, and a graceful shutdown.
 * <ul>
 *   <li>{@link io.ktls.examples.transport.Transport}: {@code --transport auto|nio|epoll|io_uring}, probed for
 *       availability; {@code auto} takes epoll first (why: the enum's description);</li>
 *   <li>{@link io.ktls.examples.transport.ServerLauncher}: bind, print {@code listening on ...}, wait for a
 *       signal, shut down in order (listener, event loops, then the TLS resources) and return the exit status;</li>
 *   <li>{@code ShutdownSignals} (package-private): SIGTERM and SIGINT turned into that shutdown.</li>
 * </ul>
 * Public for the other example packages; not API of the library. Threads: the main thread runs the launcher and
 * waits; the JVM's signal thread only closes the listening channel (thread-safe), which ends the wait, and the
 * main thread does the rest, in order.
 */
package io.ktls.examples.transport;
