package io.ktls.handler;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.api.Test;

import javax.crypto.Cipher;
import javax.net.ssl.SSLException;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failure of our own while reading (not the peer's input: here the AEAD provider cannot make the cipher of
 * the peer's next read key) ends the connection like bad input does, with internal_error, instead of escaping
 * {@code channelRead} and leaving the connection open with its inbound side half done.
 */
class KtlsHandlerInboundFailureTest {

    /** SunJCE's ciphers until {@link #broken} is set; then no cipher at all. */
    static final class BreakableProvider implements AeadProvider {
        volatile boolean broken;

        @Override
        public String name() {
            return "Breakable";
        }

        @Override
        public boolean supports(AeadAlgorithm aead) {
            return AeadProviders.sunJce().supports(aead);
        }

        @Override
        public Cipher newCipher(AeadAlgorithm aead) throws GeneralSecurityException {
            if (broken) {
                throw new NoSuchAlgorithmException("provider gone");
            }
            return AeadProviders.sunJce().newCipher(aead);
        }
    }

    @Test
    void failureToMakeThePeersNextReadCipherSendsInternalErrorAndCloses() throws Exception {
        BreakableProvider provider = new BreakableProvider();
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256,
                KtlsConfig.builder().aeadProvider(provider), h -> { })) {
            provider.broken = true;
            peer.sendRecord(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 0});
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, 80}, peer.onlyAlert(), "internal_error");
            assertFalse(peer.server.isOpen());
            assertEquals(1, peer.events.exceptions.size(), String.valueOf(peer.events.exceptions));
            assertInstanceOf(SSLException.class, peer.events.exceptions.get(0));
            assertTrue(peer.handler.sslCloseFuture().isDone() && !peer.handler.sslCloseFuture().isSuccess());
        }
    }
}
