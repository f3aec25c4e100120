package io.ktls.examples.tls;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

/**
 * Whether a PEM PKCS#8 private key belongs to a certificate: it signs a challenge that the certificate's public key
 * verifies. BoringSSL's context accepts a mismatched pair and only fails each handshake, so a replaced key or
 * certificate that does not match (one file copied before the other, say) is refused here, at load time.
 *
 * <p>Threads: stateless, any thread.
 */
final class KeyPairCheck {

    private static final byte[] CHALLENGE = "ktls-netty key pair check".getBytes(StandardCharsets.US_ASCII);

    private KeyPairCheck() {
    }

    /** @throws SSLException the files do not parse, or the key is not the certificate's */
    static void requireMatch(Path certChain, Path keyFile) throws SSLException {
        X509Certificate certificate;
        PrivateKey key;
        try (InputStream in = Files.newInputStream(certChain)) {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            key = readKey(keyFile, certificate.getPublicKey().getAlgorithm());
        } catch (IOException | GeneralSecurityException | IllegalArgumentException | ClassCastException e) {
            throw new SSLException("cannot read " + certChain + " / " + keyFile + ": " + e.getMessage(), e);
        }
        try {
            String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(CHALLENGE);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(CHALLENGE);
            if (!verifier.verify(signature)) {
                throw new SSLException("the key in " + keyFile + " is not the key of the certificate in "
                        + certChain);
            }
        } catch (GeneralSecurityException e) {
            throw new SSLException("the key in " + keyFile + " does not fit the certificate in " + certChain + ": "
                    + e.getMessage(), e);
        }
    }

    private static PrivateKey readKey(Path keyFile, String algorithm) throws IOException, GeneralSecurityException {
        String pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("no PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----)");
        }
        String body = pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder()
                .decode(body)));
    }
}
