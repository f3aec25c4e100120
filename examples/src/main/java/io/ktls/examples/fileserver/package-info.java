/**
 * The example HTTPS static file server, {@code java -jar ktls-file-server.jar} (examples/README.md has its
 * HTTP behaviour and {@code /_stats}; {@code --help} its options). Only
 * {@link io.ktls.examples.fileserver.FileServer}, the jar's main class, is public; the rest is the server's own:
 * <ul>
 *   <li>{@code FileServerOptions}: the command line and its {@code USAGE} text;</li>
 *   <li>{@code IdleConnectionCloser}: first in the pipeline, closes a connection on which nothing moved for
 *       {@code --idle-timeout};</li>
 *   <li>{@code StaticFileHandler}: answers GET and HEAD, one request at a time, writing file bodies as the mode
 *       wants them ({@code DefaultFileRegion} or {@code ChunkedNioFile});</li>
 *   <li>{@code DocumentRoot}: maps request targets to files, refusing anything that could lead outside the
 *       root;</li>
 *   <li>{@code ByteRange}: one {@code Range} header resolved against a file length;</li>
 *   <li>{@code DirectoryListing}: the HTML page of a folder;</li>
 *   <li>{@code MediaTypes}: {@code Content-Type} by extension;</li>
 *   <li>{@code AccessLog}: one Common Log Format line per request, on stderr, to a file or off
 *       ({@code --access-log}), written in batches by a thread of its own;</li>
 *   <li>{@code ServerCounters}: the server's counters for {@code /_stats}.</li>
 * </ul>
 *
 * <p>Threads: the main thread parses options and starts the server ({@link io.ktls.examples.transport}); each
 * connection's handlers ({@code IdleConnectionCloser}, {@code StaticFileHandler}) are its own and run on its event
 * loop only; {@code DocumentRoot}, {@code MediaTypes} and {@code AccessLog} are shared and thread-safe, and
 * {@code ServerCounters} is updated by every loop without contention ({@code LongAdder}).
 */
package io.ktls.examples.fileserver;
