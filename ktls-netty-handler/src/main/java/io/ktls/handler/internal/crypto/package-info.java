/**
 * The crypto engine of the record layer: key schedules and the record layouts of TLS 1.3 and TLS 1.2 with
 * AES-GCM and ChaCha20-Poly1305. Public only so that the handler's package can reach it, as Netty's
 * {@code internal} packages are: not API, and free to change.
 * <ul>
 *   <li>{@link io.ktls.handler.internal.crypto.TrafficKeys}: key and IV of one direction (TLS 1.3 from a
 *       traffic secret, with the next generation for KeyUpdate);</li>
 *   <li>{@link io.ktls.handler.internal.crypto.Tls12KeyBlock}: the TLS 1.2 key block, cut into the two
 *       directions' keys;</li>
 *   <li>{@link io.ktls.handler.internal.crypto.RecordCipher}: seals or opens the records of one direction;</li>
 *   <li>{@link io.ktls.handler.internal.crypto.RecordKey}: a secret key whose bytes we own and zero.</li>
 * </ul>
 * Package-private:
 * <ul>
 *   <li>{@code AeadRecordCipher}: the steps of sealing and opening a record, shared by
 *       {@code Tls13RecordCipher} and {@code Tls12RecordCipher}, which hold the two record layouts and nonce
 *       rules;</li>
 *   <li>{@code RecordAead}: one cipher's JCE {@code Cipher}, key copy and per-record nonce; how each record
 *       is handed to the provider;</li>
 *   <li>{@code HeapStage}: per-thread heap arrays through which records in direct memory are sealed;</li>
 *   <li>{@code UpdateBehaviour}: whether a provider's {@code update} accepts an exact-length output, probed
 *       once per provider and AEAD;</li>
 *   <li>{@code KeyDerivation}: HKDF-Expand-Label (TLS 1.3) and the PRF (TLS 1.2).</li>
 * </ul>
 *
 * <p>Threads: a {@code RecordCipher} belongs to one thread at a time (the connection's event loop, or the
 * offload worker it is pinned to); it moves between them only through a queue or an executor, which orders
 * the hand-off. {@code HeapStage} is per thread. Key material is zeroed by {@code close()} on every path.
 */
package io.ktls.handler.internal.crypto;
