package io.ktls.handler;

import javax.crypto.Cipher;
import javax.crypto.CipherSpi;
import javax.crypto.ShortBufferException;
import java.nio.ByteBuffer;
import java.security.AlgorithmParameters;

/**
 * The part of a test {@link CipherSpi} that only forwards to a real {@link Cipher}: block size, output size, IV,
 * parameters, additional data and {@code update}. Test providers that count, log or break seals extend it and
 * override the calls they watch ({@code init}, {@code doFinal}).
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

    @Override
    protected void engineUpdateAAD(byte[] src, int offset, int len) {
        real.updateAAD(src, offset, len);
    }

    @Override
    protected void engineUpdateAAD(ByteBuffer src) {
        real.updateAAD(src);
    }

    @Override
    protected byte[] engineUpdate(byte[] input, int inputOffset, int inputLen) {
        return real.update(input, inputOffset, inputLen);
    }

    @Override
    protected int engineUpdate(byte[] input, int inputOffset, int inputLen, byte[] output, int outputOffset)
            throws ShortBufferException {
        return real.update(input, inputOffset, inputLen, output, outputOffset);
    }

    @Override
    protected int engineUpdate(ByteBuffer input, ByteBuffer output) throws ShortBufferException {
        return real.update(input, output);
    }
}
