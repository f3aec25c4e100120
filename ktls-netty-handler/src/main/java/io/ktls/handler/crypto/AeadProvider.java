package io.ktls.handler.crypto;

import javax.crypto.Cipher;
import java.security.GeneralSecurityException;

/**
 * Where the AEAD {@link Cipher}s of a {@link RecordCipher} come from. A provider is chosen per suite (see
 * {@link AeadProviders#preferred(TlsCipherSuite)}) and can be replaced, e.g. to pin one for a benchmark.
 *
 * <p>Implementations are stateless and shared by all threads; each {@link RecordCipher} asks for its own
 * {@link Cipher} and keeps it to itself.
 */
public interface AeadProvider {

    /** The provider's name, for logs and metrics, e.g. {@code SunJCE}. */
    String name();

    /** Whether {@link #newCipher(AeadAlgorithm)} works for {@code aead}. */
    boolean supports(AeadAlgorithm aead);

    /** A new, uninitialised cipher for {@code aead}, owned by the caller. */
    Cipher newCipher(AeadAlgorithm aead) throws GeneralSecurityException;
}
