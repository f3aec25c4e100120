/**
 * A TLS streaming pair, netperf's {@code TCP_SENDFILE} over TLS: {@link io.ktls.examples.stream.StreamServer}
 * streams a file, over and over, to every client that asks; {@link io.ktls.examples.stream.StreamClient}
 * opens N streams, reads for a duration or a byte count and reports throughput and the CPU both processes
 * spent per GB.
 *
 * <h2>Protocol</h2>
 * After the TLS handshake (or the TCP connect with {@code --mode plain}) the client sends one line:
 * <ul>
 *   <li>{@code STREAM\n}: the server writes the first {@code period} bytes of its file again and again
 *       until the client closes the connection;</li>
 *   <li>{@code STATS\n}: the server answers one line and closes:
 *       {@code cpuNanos=<process CPU time> period=<bytes> pattern=<true|false> mode=<mode>}.</li>
 * </ul>
 * The client asks for {@code STATS} when measuring starts and when it ends, so the server's CPU per GB
 * covers exactly the measured bytes, on any machine, through the same port.
 *
 * <h2>Content</h2>
 * Without {@code --file}, or with {@code --size}, the server generates its file from
 * {@link io.ktls.examples.stream.StreamPattern}; {@code StreamClient --verify} then checks every byte it
 * receives against the same pattern.
 *
 * <h2>Classes</h2>
 * Only the two main classes are public; the rest is the pair's own:
 * <ul>
 *   <li>{@code StreamServerOptions}, {@code StreamClientOptions}: the command lines and their {@code USAGE}
 *       texts (the one list of the options, printed by {@code --help});</li>
 *   <li>{@code StreamServerHandler}: answers a connection's request line, keeping the file queued for a
 *       stream;</li>
 *   <li>{@code StreamClientHandler}: one stream of the client: counts (and verifies) what arrives;</li>
 *   <li>{@code StreamPattern}: the generated files' verifiable content;</li>
 *   <li>{@code ProcessCpu}: this process's CPU time, for the CPU per GB of each side;</li>
 *   <li>{@code ThreadDump}: this process's threads, printed when something times out.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * Each connection's handler runs on its event loop only. The client's main thread starts the streams, samples
 * their byte counts once a second and prints; each stream's event loop writes its count and the main thread
 * reads it (an {@code AtomicLong} written with {@code lazySet}: a progress line may lag by a read, never tear),
 * and the first failure any stream reports is kept for the main thread in volatile fields.
 */
package io.ktls.examples.stream;
