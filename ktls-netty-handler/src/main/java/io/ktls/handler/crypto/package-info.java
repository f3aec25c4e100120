/**
 * Sealing and opening TLS records once BoringSSL has finished the handshake: key schedules, the record
 * layouts of TLS 1.3 and TLS 1.2 with AES-GCM and ChaCha20-Poly1305, and the JCE providers behind them.
 * docs/crypto.md is the long form (the seal contract, JCE facts, key hygiene, provider measurements).
 *
 * <p>Public, for the handler's packages and for tests, not for applications (the handler's API is
 * {@link io.ktls.handler.KtlsConfig}):
 * <ul>
 *   <li>{@link io.ktls.handler.crypto.TlsCipherSuite}: the nine suites taken over, their names and record
 *       parameters;</li>
 *   <li>{@link io.ktls.handler.crypto.TrafficKeys}: key and IV of one direction (TLS 1.3 from a traffic
 *       secret, with the next generation for KeyUpdate);</li>
 *   <li>{@link io.ktls.handler.crypto.Tls12KeyBlock}: the TLS 1.2 key block, cut into the two directions'
 *       keys;</li>
 *   <li>{@link io.ktls.handler.crypto.RecordCipher}: seals or opens the records of one direction;</li>
 *   <li>{@link io.ktls.handler.crypto.AeadProvider}, {@link io.ktls.handler.crypto.AeadProviders},
 *       {@link io.ktls.handler.crypto.AeadAlgorithm}: where each {@code Cipher} comes from, and the default
 *       choice per AEAD and JDK;</li>
 *   <li>{@link io.ktls.handler.crypto.TlsRecordException}: a record we refuse, with the alert to send.</li>
 * </ul>
 * Engine, package-private:
 * <ul>
 *   <li>{@code Tls13RecordCipher}, {@code Tls12RecordCipher}: the two record layouts and nonce rules;</li>
 *   <li>{@code RecordAead}: one cipher's JCE {@code Cipher}, key copy and per-record nonce; how each record
 *       is handed to the provider;</li>
 *   <li>{@code HeapStage}: per-thread heap arrays through which records in direct memory are sealed;</li>
 *   <li>{@code UpdateBehaviour}: whether a provider's {@code update} accepts an exact-length output, probed
 *       once per provider and AEAD;</li>
 *   <li>{@code KeyDerivation}: HKDF-Expand-Label (TLS 1.3) and the PRF (TLS 1.2);</li>
 *   <li>{@code RecordKey}: a secret key whose bytes we own and zero.</li>
 * </ul>
 *
 * <p>Threads: a {@code RecordCipher} belongs to one thread at a time (the connection's event loop, or the
 * offload worker it is pinned to); it moves between them only through a queue or an executor, which orders
 * the hand-off. Suites, providers and the probe results are immutable or concurrent and shared freely;
 * {@code HeapStage} is per thread. Key material is zeroed by {@code close()} on every path.
 */
package io.ktls.handler.crypto;
