package io.ktls.handler.crypto;

import io.ktls.handler.internal.crypto.RecordKey;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The AEAD providers this module knows, and the choice among them.
 *
 * <p>The default choice follows measurement (docs/crypto.md, {@code RecordSealBenchmark}, CPU time per
 * 16 KiB record; the figures are in docs/crypto.md and docs/benchmarks.md): before JDK 25, AES-GCM goes to the
 * Amazon Corretto Crypto Provider when its jar is on the class path and its native library loads (it seals
 * faster than SunJCE on JDK 17); from JDK 25 on, SunJCE's AES-GCM matches it on direct memory and beats it on
 * heap arrays, so SunJCE is chosen. ChaCha20-Poly1305 always goes
 * to SunJCE, the only provider here offering it (Corretto 2.5.0 does not). JDK 18 to 24 are unmeasured and
 * follow the JDK 17 choice. The system property
 * {@value #PROVIDER_PROPERTY} overrides the choice with a provider name ({@code SunJCE},
 * {@code AmazonCorrettoCryptoProvider}, or any installed {@link Provider}); {@code auto} (the default) measures
 * nothing at run time and applies the table above.
 *
 * <p>Thread-safe: the providers are immutable and the Corretto probe runs once, in the class initialiser.
 */
public final class AeadProviders {

    /** System property naming the provider to use for every AEAD it supports; {@code auto} by default. */
    public static final String PROVIDER_PROPERTY = "io.ktls.handler.crypto.aeadProvider";

    static final String CORRETTO_NAME = "AmazonCorrettoCryptoProvider";
    /** The first JDK measured where SunJCE's AES-GCM seals 16 KiB records as fast as Corretto (docs/crypto.md). */
    static final int SUN_JCE_GCM_FAST_FROM_JDK = 25;
    private static final String CORRETTO_CLASS = "com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider";

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(AeadProviders.class);

    private static final AeadProvider SUN_JCE = new JceAeadProvider("SunJCE", null);
    private static final AeadProvider CORRETTO = loadCorretto();
    private static final String OVERRIDE = System.getProperty(PROVIDER_PROPERTY, "auto").trim();

    static {
        logger.debug("{}: {}, Amazon Corretto Crypto Provider: {}", PROVIDER_PROPERTY, OVERRIDE,
                     CORRETTO == null ? "unavailable" : "available");
    }

    private AeadProviders() {
    }

    /** The JDK's own provider. Always available for both AEADs on JDK 17+. */
    public static AeadProvider sunJce() {
        return SUN_JCE;
    }

    /** The Amazon Corretto Crypto Provider, when its jar is on the class path and its native library loads. */
    public static Optional<AeadProvider> amazonCorretto() {
        return Optional.ofNullable(CORRETTO);
    }

    /** Any JCA provider, e.g. one not installed in {@link Security}. */
    public static AeadProvider of(Provider provider) {
        Objects.requireNonNull(provider, "provider");
        return new JceAeadProvider(provider.getName(), provider);
    }

    /** Every provider usable here, SunJCE first. */
    public static List<AeadProvider> available() {
        List<AeadProvider> providers = new ArrayList<>(2);
        providers.add(SUN_JCE);
        if (CORRETTO != null) {
            providers.add(CORRETTO);
        }
        return providers;
    }

    /** The provider that seals {@code suite}'s records fastest here (see the class comment). */
    public static AeadProvider preferred(TlsCipherSuite suite) {
        return preferred(suite.aead());
    }

    /** The provider that runs {@code aead} fastest here (see the class comment). */
    public static AeadProvider preferred(AeadAlgorithm aead) {
        if (!"auto".equalsIgnoreCase(OVERRIDE)) {
            AeadProvider chosen = byName(OVERRIDE);
            if (chosen != null && chosen.supports(aead)) {
                return chosen;
            }
        }
        if (aead == AeadAlgorithm.AES_GCM && CORRETTO != null
            && Runtime.version().feature() < SUN_JCE_GCM_FAST_FROM_JDK) {
            return CORRETTO;
        }
        return SUN_JCE;
    }

    private static AeadProvider byName(String name) {
        if (name.equalsIgnoreCase(SUN_JCE.name())) {
            return SUN_JCE;
        }
        if (name.equalsIgnoreCase(CORRETTO_NAME)) {
            return CORRETTO;
        }
        Provider installed = Security.getProvider(name);
        return installed == null ? null : of(installed);
    }

    private static AeadProvider loadCorretto() {
        try {
            Class<?> type = Class.forName(CORRETTO_CLASS, true, AeadProviders.class.getClassLoader());
            Provider provider = (Provider) type.getField("INSTANCE").get(null);
            // Throws when the native library failed to load (unsupported platform, noexec /tmp, ...).
            type.getMethod("assertHealthy").invoke(provider);
            JceAeadProvider corretto = new JceAeadProvider(CORRETTO_NAME, provider);
            selfTest(corretto);
            return corretto;
        } catch (ClassNotFoundException e) {
            return null;
        } catch (Throwable t) {
            logger.debug("Amazon Corretto Crypto Provider on the class path but unusable", t);
            return null;
        }
    }

    /** One seal of an empty message: proves the native code runs, not that it is right (the tests do that). */
    private static void selfTest(AeadProvider provider) throws GeneralSecurityException {
        for (AeadAlgorithm aead : AeadAlgorithm.values()) {
            if (provider.supports(aead)) {
                Cipher cipher = provider.newCipher(aead);
                RecordKey key = new RecordKey(aead.keyAlgorithm(), new byte[aead == AeadAlgorithm.AES_GCM ? 16 : 32]);
                byte[] nonce = new byte[12];
                cipher.init(Cipher.ENCRYPT_MODE, key, aead == AeadAlgorithm.AES_GCM
                        ? new GCMParameterSpec(128, nonce) : new IvParameterSpec(nonce));
                if (cipher.doFinal().length != 16) {
                    throw new GeneralSecurityException(provider.name() + " " + aead + ": unexpected tag length");
                }
            }
        }
    }

    /** A provider backed by the JCA, either by name lookup (SunJCE) or by instance. */
    private static final class JceAeadProvider implements AeadProvider {
        private final String name;
        private final Provider provider;

        JceAeadProvider(String name, Provider provider) {
            this.name = name;
            this.provider = provider;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public boolean supports(AeadAlgorithm aead) {
            try {
                newCipher(aead);
                return true;
            } catch (GeneralSecurityException e) {
                return false;
            }
        }

        @Override
        public Cipher newCipher(AeadAlgorithm aead) throws GeneralSecurityException {
            return provider != null ? Cipher.getInstance(aead.transformation(), provider)
                                    : Cipher.getInstance(aead.transformation(), name);
        }

        @Override
        public String toString() {
            return "AeadProvider[" + name + "]";
        }
    }
}
