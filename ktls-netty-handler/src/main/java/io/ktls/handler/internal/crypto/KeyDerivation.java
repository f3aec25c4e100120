package io.ktls.handler.internal.crypto;

import javax.crypto.Mac;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;

/**
 * The two key derivation functions of the record layer, over the suite's HMAC:
 * <ul>
 *   <li>TLS 1.3 {@code HKDF-Expand-Label(Secret, Label, Context, Length)} (RFC 8446 section 7.1), which is
 *       {@code HKDF-Expand(Secret, HkdfLabel, Length)} (RFC 5869 section 2.3) with
 *       {@code HkdfLabel = uint16 Length || opaque label<7..255> = "tls13 " + Label || opaque context<0..255>};</li>
 *   <li>TLS 1.2 {@code PRF(secret, label, seed) = P_hash(secret, label + seed)} (RFC 5246 section 5), where
 *       {@code P_hash} concatenates {@code HMAC(secret, A(i) + seed)} with {@code A(0) = seed},
 *       {@code A(i) = HMAC(secret, A(i-1))}.</li>
 * </ul>
 * Both run once per connection or per KeyUpdate, never per record, so they favour clarity over allocation.
 * Every intermediate block derived from the secret is zeroed before returning, the output too when the
 * derivation fails halfway, and the {@link Mac} is re-keyed with a throwaway key once done, so the provider's
 * padded copy of the secret does not outlive the call.
 */
final class KeyDerivation {

    private static final byte[] TLS13_LABEL_PREFIX = "tls13 ".getBytes(StandardCharsets.US_ASCII);

    private KeyDerivation() {
    }

    /** RFC 8446 section 7.1 HKDF-Expand-Label; the result is the caller's to zero. */
    static byte[] hkdfExpandLabel(String hmacAlgorithm, byte[] secret, String label, byte[] context, int length) {
        byte[] labelBytes = label.getBytes(StandardCharsets.US_ASCII);
        int fullLabelLength = TLS13_LABEL_PREFIX.length + labelBytes.length;
        if (fullLabelLength > 255 || context.length > 255 || length > 0xFFFF) {
            throw new IllegalArgumentException("label: " + label + ", context: " + context.length + " bytes, length: "
                                               + length + " (expected: label <= 249, context <= 255, length <= 65535)");
        }
        byte[] info = new byte[2 + 1 + fullLabelLength + 1 + context.length];
        int i = 0;
        info[i++] = (byte) (length >>> 8);
        info[i++] = (byte) length;
        info[i++] = (byte) fullLabelLength;
        System.arraycopy(TLS13_LABEL_PREFIX, 0, info, i, TLS13_LABEL_PREFIX.length);
        i += TLS13_LABEL_PREFIX.length;
        System.arraycopy(labelBytes, 0, info, i, labelBytes.length);
        i += labelBytes.length;
        info[i++] = (byte) context.length;
        System.arraycopy(context, 0, info, i, context.length);
        return hkdfExpand(hmacAlgorithm, secret, info, length);
    }

    /** RFC 5869 section 2.3 HKDF-Expand with {@code secret} as the pseudorandom key. */
    static byte[] hkdfExpand(String hmacAlgorithm, byte[] prk, byte[] info, int length) {
        return hkdfExpand(newMac(hmacAlgorithm), prk, info, length);
    }

    /** HKDF-Expand with {@code mac}, an uninitialised HMAC this call keys with {@code prk}. */
    static byte[] hkdfExpand(Mac mac, byte[] prk, byte[] info, int length) {
        int hashLength = mac.getMacLength();
        if (length > 255 * hashLength) {
            throw new IllegalArgumentException("length: " + length + " (expected: <= " + 255 * hashLength + ")");
        }
        init(mac, prk);
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        boolean done = false;
        try {
            int written = 0;
            for (int counter = 1; written < length; counter++) {
                mac.update(t);
                mac.update(info);
                mac.update((byte) counter);
                Arrays.fill(t, (byte) 0);
                t = mac.doFinal();
                int n = Math.min(t.length, length - written);
                System.arraycopy(t, 0, out, written, n);
                written += n;
            }
            done = true;
            return out;
        } finally {
            Arrays.fill(t, (byte) 0);
            if (!done) {
                Arrays.fill(out, (byte) 0);
            }
            scrub(mac);
        }
    }

    /** RFC 5246 section 5 PRF; the result is the caller's to zero. */
    static byte[] tls12Prf(String hmacAlgorithm, byte[] secret, String label, byte[] seed, int length) {
        byte[] labelBytes = label.getBytes(StandardCharsets.US_ASCII);
        byte[] labelAndSeed = new byte[labelBytes.length + seed.length];
        System.arraycopy(labelBytes, 0, labelAndSeed, 0, labelBytes.length);
        System.arraycopy(seed, 0, labelAndSeed, labelBytes.length, seed.length);

        Mac mac = newMac(hmacAlgorithm);
        init(mac, secret);
        byte[] out = new byte[length];
        byte[] a = labelAndSeed;
        byte[] block = null;
        boolean done = false;
        try {
            int written = 0;
            while (written < length) {
                byte[] next = mac.doFinal(a);            // A(i) = HMAC(secret, A(i-1))
                if (a != labelAndSeed) {
                    Arrays.fill(a, (byte) 0);
                }
                a = next;
                mac.update(a);
                mac.update(labelAndSeed);
                block = mac.doFinal();                   // HMAC(secret, A(i) + seed)
                int n = Math.min(block.length, length - written);
                System.arraycopy(block, 0, out, written, n);
                written += n;
                Arrays.fill(block, (byte) 0);
            }
            done = true;
            return out;
        } finally {
            if (a != labelAndSeed) {
                Arrays.fill(a, (byte) 0);
            }
            if (block != null) {
                Arrays.fill(block, (byte) 0);
            }
            if (!done) {
                Arrays.fill(out, (byte) 0);
            }
            scrub(mac);
        }
    }

    private static Mac newMac(String hmacAlgorithm) {
        try {
            return Mac.getInstance(hmacAlgorithm);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(hmacAlgorithm + " unavailable", e);
        }
    }

    /**
     * Re-keys {@code mac} with a throwaway all-zero key: the provider keeps the secret's padded key (and the
     * hash states derived from it) inside the {@code Mac} until it is re-keyed or collected.
     */
    private static void scrub(Mac mac) {
        try {
            init(mac, new byte[mac.getMacLength()]);
        } catch (RuntimeException e) {
            // A provider that refuses the zero key keeps the old one until collected: nothing more we can do.
        }
    }

    private static void init(Mac mac, byte[] secret) {
        RecordKey key = new RecordKey(mac.getAlgorithm(), secret.clone());
        try {
            mac.init(key);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(mac.getAlgorithm() + " refused its key", e);
        } finally {
            key.destroy();
        }
    }
}
