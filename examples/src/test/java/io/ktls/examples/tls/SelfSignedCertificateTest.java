package io.ktls.examples.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelfSignedCertificateTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(SelfSignedCertificate.KeyType.class)
    void certificateIsAValidSelfSignedLeafForLocalhost(SelfSignedCertificate.KeyType type) throws Exception {
        SelfSignedCertificate generated = SelfSignedCertificate.generate(type);
        X509Certificate cert = generated.certificate();
        cert.verify(cert.getPublicKey());
        cert.checkValidity(new Date());
        assertEquals(2, cert.getVersion() - 1);
        assertEquals("CN=localhost", cert.getSubjectX500Principal().getName());
        assertEquals(cert.getSubjectX500Principal(), cert.getIssuerX500Principal());
        assertEquals(-1, cert.getBasicConstraints(), "not a CA");
        assertTrue(cert.getKeyUsage()[0], "digitalSignature");
        assertEquals(List.of("1.3.6.1.5.5.7.3.1"), cert.getExtendedKeyUsage());
        Set<String> names = new TreeSet<>();
        for (List<?> san : cert.getSubjectAlternativeNames()) {
            names.add(san.get(0) + ":" + san.get(1));
        }
        assertEquals(Set.of("2:localhost", "7:127.0.0.1", "7:0:0:0:0:0:0:0:1"), names);
        assertEquals(type == SelfSignedCertificate.KeyType.RSA_2048 ? "RSA" : "EC", cert.getPublicKey().getAlgorithm());
        assertTrue(cert.getSerialNumber().signum() > 0);
    }

    @Test
    void twoCertificatesHaveDifferentKeysAndSerials() throws Exception {
        SelfSignedCertificate a = SelfSignedCertificate.generate(SelfSignedCertificate.KeyType.EC_P256);
        SelfSignedCertificate b = SelfSignedCertificate.generate(SelfSignedCertificate.KeyType.EC_P256);
        assertNotEquals(a.certificate().getSerialNumber(), b.certificate().getSerialNumber());
        assertNotEquals(a.certificate().getPublicKey(), b.certificate().getPublicKey());
    }

    @ParameterizedTest
    @EnumSource(SelfSignedCertificate.KeyType.class)
    void pemFilesLoadAsAnOpenSslServerContext(SelfSignedCertificate.KeyType type) throws Exception {
        SelfSignedCertificate generated = SelfSignedCertificate.generate(type);
        Path cert = Files.writeString(dir.resolve("cert.pem"), generated.certificatePem());
        Path key = Files.writeString(dir.resolve("key.pem"), generated.privateKeyPem());
        SslContext context = new TlsOptions(cert, key, List.of("TLSv1.3", "TLSv1.2"), null).newServerContext();
        try {
            assertTrue(context.isServer());
        } finally {
            io.netty.util.ReferenceCountUtil.release(context);
        }
        SslContextBuilder.forServer(cert.toFile(), key.toFile()).build(); // and with the JDK provider
    }

    @Test
    void unknownCipherSuitesAreRefusedByName() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new TlsOptions(null, null, null, List.of("TLS_AES_128_GCM_SHA256", "NOT-A-CIPHER"))
                        .newServerContext());
        assertEquals("--ciphers: unsupported cipher suite: NOT-A-CIPHER", e.getMessage());
    }
}
