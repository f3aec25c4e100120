/**
 * How the example servers secure a connection, shared by the file server and the streaming pair.
 * <ul>
 *   <li>{@link io.ktls.examples.tls.ServerMode}: {@code --mode}: {@code offload}, {@code inline},
 *       {@code sslhandler} or {@code plain};</li>
 *   <li>{@link io.ktls.examples.tls.ServerConnectionOptions}: the options every server reads the same way
 *       (where it listens, how it secures connections, on which transport), and the security and launcher
 *       made from them;</li>
 *   <li>{@link io.ktls.examples.tls.TlsOptions}: {@code --cert}, {@code --key}, {@code --protocols},
 *       {@code --ciphers}, and the BoringSSL {@code SslContext}s made from them;</li>
 *   <li>{@link io.ktls.examples.tls.ConnectionSecurity}: what a mode puts at the front of each pipeline, and the
 *       resources that outlive connections (TLS context, offload group, page-run allocator);</li>
 *   <li>{@link io.ktls.examples.tls.SelfSignedCertificate}: a certificate for {@code localhost} generated with
 *       {@code java.security} alone, used when no {@code --cert} is given;</li>
 *   <li>{@code DerWriter} (package-private): the DER encodings that certificate needs.</li>
 * </ul>
 * The public classes are for the other example packages; the library's own API is {@code KtlsHandler} and
 * {@code KtlsConfig}, which {@code ConnectionSecurity} shows in use. Threads: the main thread creates the
 * {@code ConnectionSecurity} at start and closes it at shutdown, after the event loops have stopped; in between
 * every event loop reads it, and it does not change.
 */
package io.ktls.examples.tls;
