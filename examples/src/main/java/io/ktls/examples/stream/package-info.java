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
 */
package io.ktls.examples.stream;
