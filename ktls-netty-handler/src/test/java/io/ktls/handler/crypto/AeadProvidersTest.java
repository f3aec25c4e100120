package io.ktls.handler.crypto;

import org.junit.jupiter.api.Test;

import java.security.Security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AeadProvidersTest {

    @Test
    void sunJceOffersBothAeads() {
        assertTrue(AeadProviders.sunJce().supports(AeadAlgorithm.AES_GCM));
        assertTrue(AeadProviders.sunJce().supports(AeadAlgorithm.CHACHA20_POLY1305));
    }

    /**
     * The Corretto jar is an optional dependency of the module, so it is on the test class path (linux-x86_64).
     * It wins AES-GCM before JDK 25; from JDK 25 on SunJCE is as fast and is kept.
     */
    @Test
    void correttoIsPreferredForAesGcmBeforeJdk25AndSunJceForChaCha20() {
        assertTrue(AeadProviders.amazonCorretto().isPresent(), "Corretto on the test class path and healthy");
        AeadProvider corretto = AeadProviders.amazonCorretto().get();
        assertTrue(corretto.supports(AeadAlgorithm.AES_GCM));
        assertFalse(corretto.supports(AeadAlgorithm.CHACHA20_POLY1305), "Corretto 2.5.0 has no ChaCha20-Poly1305");
        String expectedForGcm = Runtime.version().feature() < AeadProviders.SUN_JCE_GCM_FAST_FROM_JDK
                                ? corretto.name() : "SunJCE";
        assertEquals(expectedForGcm, AeadProviders.preferred(TlsCipherSuite.TLS_AES_128_GCM_SHA256).name());
        assertEquals(expectedForGcm,
                     AeadProviders.preferred(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384).name());
        assertEquals("SunJCE", AeadProviders.preferred(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256).name());
        assertEquals(2, AeadProviders.available().size());
    }

    @Test
    void anyJcaProviderCanBePluggedIn() {
        AeadProvider sun = AeadProviders.of(Security.getProvider("SunJCE"));
        assertEquals("SunJCE", sun.name());
        assertTrue(sun.supports(AeadAlgorithm.CHACHA20_POLY1305));
        assertFalse(AeadProviders.of(Security.getProvider("SUN")).supports(AeadAlgorithm.AES_GCM));
    }
}
