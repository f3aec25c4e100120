package io.ktls.handler.interop;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.time.temporal.ChronoUnit;

/**
 * The certificates the interop server presents, generated once per test JVM: a CA (ECDSA P-256), a server
 * certificate with an ECDSA P-256 key and one with an RSA 2048 key, both issued by the CA for
 * {@code localhost} and {@code 127.0.0.1}. Peers verify the server against the CA's PEM file, so every
 * handshake in the suite also proves the certificate chain went out intact.
 */
final class InteropPki {

    /** Host name and address every peer connects to; both are in the certificates' SANs. */
    static final String HOST = "127.0.0.1";

    private static volatile InteropPki instance;

    private final X509Bundle ca;
    private final X509Bundle ecdsaServer;
    private final X509Bundle rsaServer;
    private final Path caPemFile;
    private final Map<String, Path> pemFiles = new HashMap<>();

    private InteropPki() throws Exception {
        Instant now = Instant.now();
        CertificateBuilder base = new CertificateBuilder()
                .notBefore(now.minus(1, ChronoUnit.DAYS))
                .notAfter(now.plus(2, ChronoUnit.DAYS));
        ca = base.copy()
                .subject("CN=ktls-netty interop CA")
                .setIsCertificateAuthority(true)
                .ecp256()
                .buildSelfSigned();
        CertificateBuilder server = base.copy()
                .addSanDnsName("localhost")
                .addSanIpAddress(HOST)
                .addExtendedKeyUsageServerAuth();
        ecdsaServer = server.copy().subject("CN=localhost ECDSA").ecp256().buildIssuedBy(ca);
        rsaServer = server.copy().subject("CN=localhost RSA").rsa2048().buildIssuedBy(ca);

        Path directory = Files.createTempDirectory("ktls-interop-pki");
        directory.toFile().deleteOnExit();
        caPemFile = directory.resolve("ca.pem");
        Files.writeString(caPemFile, ca.getCertificatePEM(), StandardCharsets.US_ASCII);
        caPemFile.toFile().deleteOnExit();
    }

    static InteropPki get() {
        InteropPki pki = instance;
        if (pki == null) {
            synchronized (InteropPki.class) {
                pki = instance;
                if (pki == null) {
                    try {
                        instance = pki = new InteropPki();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    } catch (Exception e) {
                        throw new IllegalStateException("cannot generate the interop certificates", e);
                    }
                }
            }
        }
        return pki;
    }

    X509Bundle ca() {
        return ca;
    }

    X509Bundle server(CipherCase.CertificateKind kind) {
        return kind == CipherCase.CertificateKind.ECDSA ? ecdsaServer : rsaServer;
    }

    /** The server certificate chain of {@code kind} as a PEM file, for server peers (s_server, gnutls-serv). */
    synchronized Path serverChainPemFile(CipherCase.CertificateKind kind) throws IOException {
        return pemFiles.computeIfAbsent(kind + "-chain", k -> writePem(server(kind).getCertificatePathPEM()));
    }

    /** The private key of the server certificate of {@code kind} as a PEM file. */
    synchronized Path serverKeyPemFile(CipherCase.CertificateKind kind) throws IOException {
        return pemFiles.computeIfAbsent(kind + "-key", k -> writePem(server(kind).getPrivateKeyPEM()));
    }

    private Path writePem(String pem) {
        try {
            Path file = Files.createTempFile(caPemFile.getParent(), "server", ".pem");
            Files.writeString(file, pem, StandardCharsets.US_ASCII);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CA certificate as a PEM file, for the external peers' trust options. */
    Path caPemFile() {
        return caPemFile;
    }
}
