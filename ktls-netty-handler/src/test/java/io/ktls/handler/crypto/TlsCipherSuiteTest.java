package io.ktls.handler.crypto;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TlsCipherSuiteTest {

    @Test
    void ofFindsSuitesByJavaAndOpenSslNamesForTheirProtocolOnly() {
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            assertEquals(Optional.of(suite), TlsCipherSuite.of(suite.protocol(), suite.javaName()));
            assertEquals(Optional.of(suite), TlsCipherSuite.of(suite.protocol(), suite.openSslName()));
            String otherProtocol = suite.isTls13() ? "TLSv1.2" : "TLSv1.3";
            assertEquals(Optional.empty(), TlsCipherSuite.of(otherProtocol, suite.javaName()));
        }
        assertEquals(Optional.of(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
                     TlsCipherSuite.of("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"));
        assertEquals(Optional.of(TlsCipherSuite.TLS_AES_256_GCM_SHA384),
                     TlsCipherSuite.of("TLSv1.3", "AEAD-AES256-GCM-SHA384"));
        assertEquals(Optional.of(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
                     TlsCipherSuite.of("TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305"));
    }

    @Test
    void ofRefusesSuitesAndProtocolsThatStayOnSslHandler() {
        assertFalse(TlsCipherSuite.of("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA").isPresent());
        assertFalse(TlsCipherSuite.of("TLSv1.2", "ECDHE-RSA-AES128-SHA").isPresent());
        assertFalse(TlsCipherSuite.of("TLSv1.1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").isPresent());
        assertFalse(TlsCipherSuite.of(null, "TLS_AES_128_GCM_SHA256").isPresent());
        assertFalse(TlsCipherSuite.of("TLSv1.3", null).isPresent());
    }

    @Test
    void recordParametersFollowTheRfcs() {
        assertEquals(8, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.explicitNonceLength());
        assertEquals(4, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.ivLength());
        assertEquals(32, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.keyLength());
        assertEquals("SHA-384", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.hashAlgorithm());
        assertEquals(0, TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256.explicitNonceLength());
        assertEquals(12, TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256.ivLength());
        assertEquals(0, TlsCipherSuite.TLS_AES_128_GCM_SHA256.explicitNonceLength());
        assertEquals(16, TlsCipherSuite.TLS_AES_128_GCM_SHA256.keyLength());
        assertEquals(48, TlsCipherSuite.TLS_AES_256_GCM_SHA384.hashLength());
        assertEquals(0x1303, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256.ianaCode());
        assertEquals(1L << 24, TlsCipherSuite.TLS_AES_256_GCM_SHA384.maxRecordsPerKey());
        assertEquals(Long.MAX_VALUE, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256.maxRecordsPerKey());
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            assertEquals(16, suite.tagLength());
            assertEquals(suite.isTls13(), !suite.javaName().contains("ECDHE"), suite.name());
        }
    }
}
