package io.ktls.handler;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;

import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import java.nio.ByteBuffer;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.ProviderException;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * SunJCE's AEADs with a log of every encryption (key, nonce, and whether it produced a record), failing exactly
 * one of them with a {@link ProviderException}: either the {@code failAt}-th encryption of any cipher this provider
 * made, or the first TLS 1.3 KeyUpdate record. Thread-safe log: offload workers seal too.
 */
final class SealLoggingAeadProvider implements AeadProvider {

    static final String MESSAGE = "injected seal failure";

    /** One encryption: the key and nonce it was started with, and whether it produced a record. */
    static final class Seal {
        final String key;
        final String nonce;
        final boolean sealed;

        Seal(String key, String nonce, boolean sealed) {
            this.key = key;
            this.nonce = nonce;
            this.sealed = sealed;
        }

        @Override
        public String toString() {
            return (sealed ? "sealed " : "FAILED ") + key.substring(0, 8) + "../" + nonce;
        }
    }

    private final int failAt;
    private final boolean failKeyUpdate;
    private final boolean failCipherAfterFirstSeal;
    private final List<Seal> log = new ArrayList<>();
    private int encryptions;
    private boolean failed;

    private SealLoggingAeadProvider(int failAt, boolean failKeyUpdate, boolean failCipherAfterFirstSeal) {
        this.failAt = failAt;
        this.failKeyUpdate = failKeyUpdate;
        this.failCipherAfterFirstSeal = failCipherAfterFirstSeal;
    }

    /**
     * Seals every record, but refuses to make a cipher once one record was sealed: the cipher of the first
     * KeyUpdate cannot be created. Logs nothing as failed: {@link #cipherRefused()} tells.
     */
    static SealLoggingAeadProvider failingKeyUpdateCipher() {
        return new SealLoggingAeadProvider(-1, false, true);
    }

    private boolean cipherRefused;

    synchronized boolean cipherRefused() {
        return cipherRefused;
    }

    /** Fails the {@code n}-th encryption (1-based) of this provider's ciphers. */
    static SealLoggingAeadProvider failingEncryption(int n) {
        return new SealLoggingAeadProvider(n, false, false);
    }

    /** Fails the first encryption of a TLS 1.3 KeyUpdate record (handshake type 24 inside content type 22). */
    static SealLoggingAeadProvider failingKeyUpdate() {
        return new SealLoggingAeadProvider(-1, true, false);
    }

    synchronized List<Seal> log() {
        return new ArrayList<>(log);
    }

    /** Decides the fate of one encryption and logs it; true if it must fail. */
    private synchronized boolean begin(byte[] key, byte[] nonce, boolean keyUpdate) {
        encryptions++;
        boolean fail = !failed && (encryptions == failAt || failKeyUpdate && keyUpdate);
        failed |= fail;
        log.add(new Seal(HexFormat.of().formatHex(key), HexFormat.of().formatHex(nonce), !fail));
        return fail;
    }

    @Override
    public String name() {
        return "SealLogging";
    }

    @Override
    public boolean supports(AeadAlgorithm aead) {
        return AeadProviders.sunJce().supports(aead);
    }

    @Override
    public Cipher newCipher(AeadAlgorithm aead) throws GeneralSecurityException {
        synchronized (this) {
            if (failCipherAfterFirstSeal && encryptions > 0) {
                cipherRefused = true;
                throw new ProviderException(MESSAGE + " (no cipher)");
            }
        }
        Cipher real = AeadProviders.sunJce().newCipher(aead);
        return new Cipher(new LoggingSpi(real), real.getProvider(), real.getAlgorithm()) {
        };
    }

    private final class LoggingSpi extends DelegatingCipherSpi {
        private int mode;
        private byte[] key;
        private byte[] nonce;

        LoggingSpi(Cipher real) {
            super(real);
        }

        private void remember(int opmode, Key k, AlgorithmParameterSpec params) {
            mode = opmode;
            key = k.getEncoded();
            nonce = params instanceof GCMParameterSpec ? ((GCMParameterSpec) params).getIV()
                    : params instanceof IvParameterSpec ? ((IvParameterSpec) params).getIV() : new byte[0];
        }

        /** Before an encrypting doFinal over {@code input} (payload, then the TLS 1.3 inner type). */
        private void check(byte first, byte last, int length) {
            if (mode != Cipher.ENCRYPT_MODE) {
                return;
            }
            boolean keyUpdate = length == 6 && first == 24 && last == 22;
            if (begin(key, nonce, keyUpdate)) {
                throw new ProviderException(MESSAGE);
            }
        }

        @Override
        protected void engineInit(int opmode, Key k, SecureRandom random) throws InvalidKeyException {
            throw new InvalidKeyException("a nonce is required");
        }

        @Override
        protected void engineInit(int opmode, Key k, AlgorithmParameterSpec params, SecureRandom random)
                throws InvalidKeyException, InvalidAlgorithmParameterException {
            real.init(opmode, k, params, random);
            remember(opmode, k, params);
        }

        @Override
        protected void engineInit(int opmode, Key k, AlgorithmParameters params, SecureRandom random)
                throws InvalidAlgorithmParameterException {
            throw new InvalidAlgorithmParameterException("a parameter spec is required");
        }

        @Override
        protected byte[] engineDoFinal(byte[] input, int inputOffset, int inputLen)
                throws IllegalBlockSizeException, BadPaddingException {
            check(inputLen > 0 ? input[inputOffset] : 0, inputLen > 0 ? input[inputOffset + inputLen - 1] : 0,
                    inputLen);
            return real.doFinal(input, inputOffset, inputLen);
        }

        @Override
        protected int engineDoFinal(byte[] input, int inputOffset, int inputLen, byte[] output, int outputOffset)
                throws ShortBufferException, IllegalBlockSizeException, BadPaddingException {
            check(inputLen > 0 ? input[inputOffset] : 0, inputLen > 0 ? input[inputOffset + inputLen - 1] : 0,
                    inputLen);
            return real.doFinal(input, inputOffset, inputLen, output, outputOffset);
        }

        @Override
        protected int engineDoFinal(ByteBuffer input, ByteBuffer output)
                throws ShortBufferException, IllegalBlockSizeException, BadPaddingException {
            int length = input.remaining();
            check(length > 0 ? input.get(input.position()) : 0, length > 0 ? input.get(input.limit() - 1) : 0,
                    length);
            return real.doFinal(input, output);
        }
    }
}
