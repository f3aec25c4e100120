/**
 * The crypto choices an application makes: which suites the record layer takes over and where each
 * {@code Cipher} comes from. Public API, used through {@link io.ktls.handler.KtlsConfig}:
 * <ul>
 *   <li>{@link io.ktls.handler.crypto.TlsCipherSuite}: the nine suites taken over, their names and record
 *       parameters;</li>
 *   <li>{@link io.ktls.handler.crypto.AeadProvider}, {@link io.ktls.handler.crypto.AeadProviders},
 *       {@link io.ktls.handler.crypto.AeadAlgorithm}: where each {@code Cipher} comes from, and the default
 *       choice per AEAD and JDK;</li>
 *   <li>{@link io.ktls.handler.crypto.TlsRecordException}: a record we refuse, with the alert sent for it (what
 *       reaches {@code exceptionCaught}).</li>
 * </ul>
 * The engine that seals and opens records with these (key schedules, record layouts, the heap stage) is
 * {@code io.ktls.handler.internal.crypto}; docs/crypto.md is the long form (the seal contract, JCE facts, key
 * hygiene, provider measurements).
 *
 * <p>Threads: suites, providers and the probe results are immutable or concurrent and shared freely.
 */
package io.ktls.handler.crypto;
