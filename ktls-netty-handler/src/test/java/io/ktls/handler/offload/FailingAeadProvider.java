package io.ktls.handler.offload;

import io.ktls.handler.DelegatingCipherSpi;
import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;

import java.nio.ByteBuffer;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.ProviderException;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.ShortBufferException;

/**
 * SunJCE's AEADs, except that each cipher's encryptions fail with a {@link ProviderException} (what a JCA
 * provider throws when it breaks inside) once it has sealed {@code goodRecords} records: a crypto failure
 * injected on whichever thread seals, decryption untouched.
 */
final class FailingAeadProvider implements AeadProvider {

    static final String MESSAGE = "injected cipher failure";

    private final int goodRecords;

    FailingAeadProvider(int goodRecords) {
        this.goodRecords = goodRecords;
    }

    @Override
    public String name() {
        return "FailingAfter" + goodRecords;
    }

    @Override
    public boolean supports(AeadAlgorithm aead) {
        return AeadProviders.sunJce().supports(aead);
    }

    @Override
    public Cipher newCipher(AeadAlgorithm aead) throws GeneralSecurityException {
        Cipher real = AeadProviders.sunJce().newCipher(aead);
        return new Cipher(new FailingSpi(real, goodRecords), real.getProvider(), real.getAlgorithm()) {
        };
    }

    /** Forwards to a real cipher; counts encrypting {@code doFinal}s and fails those past the limit. */
    private static final class FailingSpi extends DelegatingCipherSpi {
        private final int goodRecords;
        private int mode;
        private int sealed;

        FailingSpi(Cipher real, int goodRecords) {
            super(real);
            this.goodRecords = goodRecords;
        }

        private void checkSeal() {
            if (mode == Cipher.ENCRYPT_MODE && ++sealed > goodRecords) {
                throw new ProviderException(MESSAGE + " (record " + sealed + ')');
            }
        }

        @Override
        protected void engineInit(int opmode, Key key, SecureRandom random) throws InvalidKeyException {
            mode = opmode;
            real.init(opmode, key, random);
        }

        @Override
        protected void engineInit(int opmode, Key key, AlgorithmParameterSpec params, SecureRandom random)
                throws InvalidKeyException, InvalidAlgorithmParameterException {
            mode = opmode;
            real.init(opmode, key, params, random);
        }

        @Override
        protected void engineInit(int opmode, Key key, AlgorithmParameters params, SecureRandom random)
                throws InvalidKeyException, InvalidAlgorithmParameterException {
            mode = opmode;
            real.init(opmode, key, params, random);
        }

        @Override
        protected byte[] engineDoFinal(byte[] input, int inputOffset, int inputLen)
                throws IllegalBlockSizeException, BadPaddingException {
            checkSeal();
            return real.doFinal(input, inputOffset, inputLen);
        }

        @Override
        protected int engineDoFinal(byte[] input, int inputOffset, int inputLen, byte[] output, int outputOffset)
                throws ShortBufferException, IllegalBlockSizeException, BadPaddingException {
            checkSeal();
            return real.doFinal(input, inputOffset, inputLen, output, outputOffset);
        }

        @Override
        protected int engineDoFinal(ByteBuffer input, ByteBuffer output)
                throws ShortBufferException, IllegalBlockSizeException, BadPaddingException {
            checkSeal();
            return real.doFinal(input, output);
        }
    }
}
