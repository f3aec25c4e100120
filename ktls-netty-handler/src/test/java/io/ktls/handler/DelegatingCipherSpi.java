package io.ktls.handler;

import javax.crypto.Cipher;
import javax.crypto.CipherSpi;
import java.security.AlgorithmParameters;

/**
 * The part of a test {@link CipherSpi} that only forwards to a real {@link Cipher}: block size, output size, IV and
 * parameters. Test providers that count, log or break seals extend it and override the calls they watch.
 */
public abstract class DelegatingCipherSpi extends CipherSpi {

    protected final Cipher real;

    protected DelegatingCipherSpi(Cipher real) {
        this.real = real;
    }

    @Override
    protected void engineSetMode(String mode) {
    }

    @Override
    protected void engineSetPadding(String padding) {
    }

    @Override
    protected int engineGetBlockSize() {
        return real.getBlockSize();
    }

    @Override
    protected int engineGetOutputSize(int inputLen) {
        return real.getOutputSize(inputLen);
    }

    @Override
    protected byte[] engineGetIV() {
        return real.getIV();
    }

    @Override
    protected AlgorithmParameters engineGetParameters() {
        return real.getParameters();
    }
}
