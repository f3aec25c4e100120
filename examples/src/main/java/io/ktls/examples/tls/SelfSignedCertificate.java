package io.ktls.examples.tls;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Objects;

/**
 * A certificate for {@code localhost} (SAN {@code DNS:localhost}, {@code IP:127.0.0.1}, {@code IP:::1})
 * signed by its own key, generated in memory with nothing but {@code java.security}: no BouncyCastle, no
 * JDK-internal classes, so it works on every JDK from 17 on.
 *
 * <p>The certificate is a leaf ({@code basicConstraints} without CA, {@code keyUsage} digitalSignature,
 * {@code extKeyUsage} serverAuth) valid from one hour ago for 30 days; a client trusts it by pinning it
 * (e.g. {@code curl --cacert cert.pem}).
 */
public final class SelfSignedCertificate {

    /** The key algorithm: ECDSA P-256 (the default: small and fast) or RSA 2048 (for ECDHE-RSA suites). */
    public enum KeyType {
        EC_P256("EC", "SHA256withECDSA", "1.2.840.10045.4.3.2", false),
        RSA_2048("RSA", "SHA256withRSA", "1.2.840.113549.1.1.11", true);

        final String keyAlgorithm;
        final String signatureAlgorithm;
        final String signatureOid;
        final boolean signatureHasNullParameters;

        KeyType(String keyAlgorithm, String signatureAlgorithm, String signatureOid,
                boolean signatureHasNullParameters) {
            this.keyAlgorithm = keyAlgorithm;
            this.signatureAlgorithm = signatureAlgorithm;
            this.signatureOid = signatureOid;
            this.signatureHasNullParameters = signatureHasNullParameters;
        }
    }

    private static final String COMMON_NAME = "localhost";
    private static final Duration BACKDATE = Duration.ofHours(1); // tolerate clocks a little behind ours
    private static final Duration VALIDITY = Duration.ofDays(30);

    private final PrivateKey privateKey;
    private final X509Certificate certificate;

    private SelfSignedCertificate(PrivateKey privateKey, X509Certificate certificate) {
        this.privateKey = privateKey;
        this.certificate = certificate;
    }

    public static SelfSignedCertificate generate(KeyType keyType) throws GeneralSecurityException {
        Objects.requireNonNull(keyType, "keyType");
        SecureRandom random = new SecureRandom();
        KeyPairGenerator generator = KeyPairGenerator.getInstance(keyType.keyAlgorithm);
        if (keyType == KeyType.EC_P256) {
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        } else {
            generator.initialize(2048, random);
        }
        KeyPair keys = generator.generateKeyPair();

        byte[] signatureAlgorithm = keyType.signatureHasNullParameters
                ? DerWriter.sequence(DerWriter.oid(keyType.signatureOid), DerWriter.nullValue())
                : DerWriter.sequence(DerWriter.oid(keyType.signatureOid));
        byte[] name = DerWriter.sequence(DerWriter.set(DerWriter.sequence(
                DerWriter.oid("2.5.4.3"), DerWriter.utf8String(COMMON_NAME))));
        Instant now = Instant.now();
        byte[] serial = new byte[16];
        random.nextBytes(serial);
        serial[0] &= 0x7f; // RFC 5280: a positive serial of at most 20 bytes

        byte[] tbs = DerWriter.sequence(
                DerWriter.explicit(0, DerWriter.integer(BigInteger.valueOf(2))), // v3
                DerWriter.integer(new BigInteger(1, serial)),
                signatureAlgorithm,
                name,
                DerWriter.sequence(DerWriter.time(now.minus(BACKDATE)), DerWriter.time(now.plus(VALIDITY))),
                name,
                keys.getPublic().getEncoded(), // already a DER SubjectPublicKeyInfo
                DerWriter.explicit(3, DerWriter.sequence(
                        extension("2.5.29.19", true, DerWriter.sequence()),
                        extension("2.5.29.15", true, keyUsage(keyType)),
                        extension("2.5.29.37", false, DerWriter.sequence(DerWriter.oid("1.3.6.1.5.5.7.3.1"))),
                        extension("2.5.29.17", false, subjectAltNames()))));

        Signature signer = Signature.getInstance(keyType.signatureAlgorithm);
        signer.initSign(keys.getPrivate(), random);
        signer.update(tbs);
        byte[] signature = signer.sign(); // ECDSA: already the DER Ecdsa-Sig-Value X.509 wants
        byte[] der = DerWriter.sequence(tbs, signatureAlgorithm, DerWriter.bitString(0, signature));

        X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
        certificate.verify(keys.getPublic());
        return new SelfSignedCertificate(keys.getPrivate(), certificate);
    }

    private static byte[] extension(String oid, boolean critical, byte[] value) {
        return critical
                ? DerWriter.sequence(DerWriter.oid(oid), DerWriter.bool(true), DerWriter.octetString(value))
                : DerWriter.sequence(DerWriter.oid(oid), DerWriter.octetString(value));
    }

    private static byte[] keyUsage(KeyType keyType) {
        // digitalSignature is bit 0 (0x80); RSA key exchange would also need keyEncipherment, bit 2 (0x20).
        return keyType == KeyType.RSA_2048
                ? DerWriter.bitString(5, new byte[] {(byte) 0xa0})
                : DerWriter.bitString(7, new byte[] {(byte) 0x80});
    }

    private static byte[] subjectAltNames() {
        try {
            return DerWriter.sequence(
                    DerWriter.implicitPrimitive(2, COMMON_NAME.getBytes(StandardCharsets.US_ASCII)),
                    DerWriter.implicitPrimitive(7, InetAddress.getByName("127.0.0.1").getAddress()),
                    DerWriter.implicitPrimitive(7, InetAddress.getByName("::1").getAddress()));
        } catch (UnknownHostException e) {
            throw new AssertionError("literal addresses never need a lookup", e);
        }
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** The certificate as a PEM block. */
    public String certificatePem() throws GeneralSecurityException {
        return pem("CERTIFICATE", certificate.getEncoded());
    }

    /** The private key as an unencrypted PKCS#8 PEM block: handle like any secret. */
    public String privateKeyPem() {
        return pem("PRIVATE KEY", privateKey.getEncoded());
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    @Override
    public String toString() {
        return "SelfSignedCertificate(" + certificate.getSubjectX500Principal() + ", "
                + privateKey.getAlgorithm() + ")";
    }
}
