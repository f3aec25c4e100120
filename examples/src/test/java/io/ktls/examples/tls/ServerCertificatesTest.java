package io.ktls.examples.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServerCertificatesTest {

    private static X509Bundle ca;

    @TempDir
    Path dir;

    private static synchronized X509Bundle ca() throws Exception {
        if (ca == null) {
            Instant now = Instant.now();
            ca = new CertificateBuilder().notBefore(now.minus(1, ChronoUnit.DAYS)).notAfter(now.plus(2, ChronoUnit.DAYS))
                    .subject("CN=test CA").setIsCertificateAuthority(true).ecp256().buildSelfSigned();
        }
        return ca;
    }

    private ServerCertificates.KeyPairFiles write(String file, String... dnsNames) throws Exception {
        Instant now = Instant.now();
        CertificateBuilder builder = new CertificateBuilder().notBefore(now.minus(1, ChronoUnit.DAYS))
                .notAfter(now.plus(2, ChronoUnit.DAYS)).addExtendedKeyUsageServerAuth();
        for (String name : dnsNames) {
            builder.addSanDnsName(name);
        }
        X509Bundle bundle = builder.subject("CN=" + dnsNames[0]).ecp256().buildIssuedBy(ca());
        Path cert = dir.resolve(file + ".crt");
        Path key = dir.resolve(file + ".key");
        Files.writeString(cert, bundle.getCertificatePathPEM(), StandardCharsets.US_ASCII);
        Files.writeString(key, bundle.getPrivateKeyPEM(), StandardCharsets.US_ASCII);
        return new ServerCertificates.KeyPairFiles(cert, key);
    }

    /** Moves a file's time on, as a rewrite would, whatever the file system's time resolution. */
    private static void touch(Path file, int seconds) throws Exception {
        Files.setLastModifiedTime(file, FileTime.from(Files.getLastModifiedTime(file).toInstant().plusSeconds(seconds)));
    }

    @Test
    void aServerNameChoosesItsCertificateAndTheFirstIsTheDefault() throws Exception {
        try (ServerCertificates certificates = ServerCertificates.load(List.of(write("default", "default.test"),
                write("a", "a.test"), write("b", "b.test", "www.b.test")), null, null)) {
            assertTrue(certificates.hasSeveral());
            SslContext defaultContext = certificates.defaultContext();
            SslContext a = certificates.byName().map("a.test");
            SslContext b = certificates.byName().map("www.b.test");
            assertNotSame(defaultContext, a);
            assertNotSame(a, b);
            assertSame(b, certificates.byName().map("b.test"));
            assertSame(defaultContext, certificates.byName().map(null), "no server name");
            assertSame(defaultContext, certificates.byName().map("other.test"), "a name no certificate has");
        }
    }

    @Test
    void dnsNamesAreTheSubjectAlternativeNames() throws Exception {
        assertEquals(Set.of("b.test", "www.b.test"), ServerCertificates.dnsNames(write("b", "b.test", "www.b.test")
                .certChain()));
    }

    @Test
    void aChangedPairIsReloadedAndTheOthersAreKept() throws Exception {
        ServerCertificates.KeyPairFiles a = write("a", "a.test");
        try (ServerCertificates certificates = ServerCertificates.load(List.of(write("default", "default.test"), a),
                                                                       null, null)) {
            SslContext defaultBefore = certificates.defaultContext();
            SslContext aBefore = certificates.byName().map("a.test");
            assertFalse(certificates.reloadIfChanged(), "nothing changed");

            write("a", "a.test");
            touch(a.certChain(), 5);
            assertTrue(certificates.reloadIfChanged());
            assertNotSame(aBefore, certificates.byName().map("a.test"), "new connections get the new chain");
            assertSame(defaultBefore, certificates.defaultContext(), "an unchanged pair is not reloaded");
            assertEquals(1, certificates.reloads());
        }
    }

    @Test
    void aBadFileIsRefusedAndThePreviousCertificateStays() throws Exception {
        ServerCertificates.KeyPairFiles a = write("a", "a.test");
        try (ServerCertificates certificates = ServerCertificates.load(List.of(write("default", "default.test"), a),
                                                                       null, null)) {
            SslContext aBefore = certificates.byName().map("a.test");
            Files.writeString(a.certChain(), "-----BEGIN CERTIFICATE-----\nnot base64\n", StandardCharsets.US_ASCII);
            touch(a.certChain(), 5);
            assertFalse(certificates.reloadIfChanged());
            assertSame(aBefore, certificates.byName().map("a.test"));
            assertEquals(1, certificates.refusals());
            assertFalse(certificates.reloadIfChanged(), "a refused change is tried again only when the files change");

            write("a", "a.test");
            touch(a.certChain(), 10);
            assertTrue(certificates.reloadIfChanged(), "a good file after a bad one is taken");
            assertNotSame(aBefore, certificates.byName().map("a.test"));
        }
    }

    @Test
    void aKeyThatDoesNotMatchItsCertificateIsRefused() throws Exception {
        ServerCertificates.KeyPairFiles a = write("a", "a.test");
        ServerCertificates.KeyPairFiles other = write("other", "other.test");
        try (ServerCertificates certificates = ServerCertificates.load(List.of(a), null, null)) {
            SslContext before = certificates.defaultContext();
            Files.copy(other.key(), a.key(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            touch(a.key(), 5);
            assertFalse(certificates.reload());
            assertSame(before, certificates.defaultContext());
            assertEquals(1, certificates.refusals());
        }
    }

    @Test
    void reloadOnDemandReloadsEveryPair() throws Exception {
        try (ServerCertificates certificates = ServerCertificates.load(List.of(write("default", "default.test"),
                write("a", "a.test")), null, null)) {
            SslContext defaultBefore = certificates.defaultContext();
            SslContext aBefore = certificates.byName().map("a.test");
            assertTrue(certificates.reload());
            assertNotSame(defaultBefore, certificates.defaultContext());
            assertNotSame(aBefore, certificates.byName().map("a.test"));
            assertEquals(2, certificates.reloads());
        }
    }

    @Test
    void aPairThatDoesNotLoadAtStartIsAnError() throws Exception {
        ServerCertificates.KeyPairFiles a = write("a", "a.test");
        Files.writeString(a.key(), "garbage", StandardCharsets.US_ASCII);
        assertThrows(SSLException.class, () -> ServerCertificates.load(List.of(a), null, null));
    }

    @Test
    void noPairGeneratesOneSelfSignedCertificate() throws Exception {
        try (ServerCertificates certificates = ServerCertificates.load(List.of(), null, null)) {
            assertFalse(certificates.hasSeveral());
            assertFalse(certificates.reload(), "a generated certificate is never reloaded");
        }
    }
}
