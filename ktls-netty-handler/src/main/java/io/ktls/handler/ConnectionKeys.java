package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.Tls12KeyBlock;
import io.ktls.handler.internal.crypto.LinuxTlsCryptoInfo;
import io.ktls.handler.internal.crypto.TrafficKeys;

import java.nio.ByteBuffer;

/**
 * The record-layer keys of one connection, both directions, from the takeover to the end of the connection:
 * made by {@link EngineHandoff#deriveKeys}, closed once by {@code KtlsHandler} when the connection's record layer
 * is released.
 *
 * <p>Each {@link Direction} holds its first {@link RecordCipher} until the layer that uses it takes it, and, in
 * TLS 1.3, the traffic secret from which every later generation is derived ({@link Direction#nextCipher()}, for a
 * KeyUpdate). A cipher taken belongs to its user from then on: the encryptor (on the sealing thread) and the
 * record reader close theirs, because only the thread that uses a cipher may close it; a cipher never taken, and
 * every traffic secret, is zeroed here.
 *
 * <p>Event loop only.
 */
final class ConnectionKeys implements AutoCloseable {

    final TlsCipherSuite suite;
    /** Our direction: what we seal with. */
    final Direction write;
    /** The peer's direction: what we open with. */
    final Direction read;

    private ConnectionKeys(TlsCipherSuite suite, Direction write, Direction read) {
        this.suite = suite;
        this.write = write;
        this.read = read;
    }

    /**
     * TLS 1.3: the keys of both application traffic secrets. {@code server} names our side. The secrets are copied;
     * the caller zeroes its own.
     */
    static ConnectionKeys tls13(TlsCipherSuite suite, boolean server, byte[] clientSecret, byte[] serverSecret,
                                AeadProvider provider) {
        TrafficKeys[] directions = TrafficKeys.tls13Directions(suite, clientSecret, serverSecret);
        Direction client = null;
        try {
            client = new Direction(suite, directions[0], provider);
            directions[0] = null;
            Direction serverDirection = new Direction(suite, directions[1], provider);
            return server ? new ConnectionKeys(suite, serverDirection, client)
                    : new ConnectionKeys(suite, client, serverDirection);
        } catch (RuntimeException e) {
            if (client != null) {
                client.close();
            }
            for (TrafficKeys keys : directions) {
                if (keys != null) {
                    keys.close();
                }
            }
            throw e;
        }
    }

    /** TLS 1.2: both directions' keys from the master secret's key block; no later generation exists. */
    static ConnectionKeys tls12(TlsCipherSuite suite, boolean server, byte[] masterSecret, byte[] clientRandom,
                                byte[] serverRandom, AeadProvider provider) {
        Direction client = null;
        try (Tls12KeyBlock block = Tls12KeyBlock.derive(suite, masterSecret, clientRandom, serverRandom)) {
            client = new Direction(suite, block.clientWrite().copy(), provider);
            Direction serverDirection = new Direction(suite, block.serverWrite().copy(), provider);
            return server ? new ConnectionKeys(suite, serverDirection, client)
                    : new ConnectionKeys(suite, client, serverDirection);
        } catch (RuntimeException e) {
            if (client != null) {
                client.close();
            }
            throw e;
        }
    }

    /** Zeroes every secret and closes every cipher not taken. Idempotent. */
    @Override
    public void close() {
        write.close();
        read.close();
    }

    @Override
    public String toString() {
        return "ConnectionKeys(" + suite + ')';
    }

    /**
     * One direction's keys: its current cipher until taken, and the keys of its current generation (kept for a
     * TLS 1.3 KeyUpdate, and for a hand-off to kernel TLS in both versions).
     */
    static final class Direction implements AutoCloseable {
        private final TlsCipherSuite suite;
        private final AeadProvider provider;
        /** The first cipher, until {@link #takeCipher()}. */
        private RecordCipher cipher;
        /** The current generation's keys; null once closed. */
        private TrafficKeys generation;

        /** Takes ownership of {@code generation}; closes it if the cipher cannot be made. */
        private Direction(TlsCipherSuite suite, TrafficKeys generation, AeadProvider provider) {
            this.suite = suite;
            this.provider = provider;
            try {
                this.cipher = RecordCipher.create(suite, generation, provider);
            } catch (RuntimeException e) {
                generation.close();
                throw e;
            }
            this.generation = generation;
        }

        /** The first generation's cipher; the caller owns (and closes) it from now on. */
        RecordCipher takeCipher() {
            RecordCipher taken = cipher;
            if (taken == null) {
                throw new IllegalStateException("cipher taken already, or keys closed");
            }
            cipher = null;
            return taken;
        }

        /** True for TLS 1.3 while open: a KeyUpdate can move this direction to its next generation. */
        boolean canUpdate() {
            return generation != null && suite.isTls13();
        }

        /**
         * Moves to the next generation (RFC 8446 section 7.2) and returns its cipher, owned by the caller. When the
         * cipher cannot be made, the direction stays where it was and the exception propagates: the caller ends
         * the connection, since no record may follow on a key that is due for replacement.
         */
        RecordCipher nextCipher() {
            if (!canUpdate()) {
                throw new IllegalStateException("no next generation: " + suite + (suite.isTls13() ? " keys closed"
                        : " (TLS 1.2 cannot rekey)"));
            }
            TrafficKeys next = generation.nextGeneration();
            RecordCipher nextCipher;
            try {
                nextCipher = RecordCipher.create(suite, next, provider);
            } catch (RuntimeException e) {
                next.close();
                throw e;
            }
            generation.close();
            generation = next;
            return nextCipher;
        }

        /**
         * The current generation's keys as Linux kernel TLS takes them, for a first record numbered
         * {@code nextSequence}: a direct buffer the caller hands to the socket and then zeroes
         * ({@link LinuxTlsCryptoInfo#zero}).
         */
        ByteBuffer kernelCryptoInfo(long nextSequence) {
            if (generation == null) {
                throw new IllegalStateException("keys closed");
            }
            return LinuxTlsCryptoInfo.encode(generation, nextSequence);
        }

        @Override
        public void close() {
            if (cipher != null) {
                cipher.close();
                cipher = null;
            }
            if (generation != null) {
                generation.close();
                generation = null;
            }
        }
    }
}
