package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.Tls12KeyBlock;
import io.ktls.handler.internal.crypto.TrafficKeys;

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
        try (Tls12KeyBlock block = Tls12KeyBlock.derive(suite, masterSecret, clientRandom, serverRandom)) {
            RecordCipher clientCipher = RecordCipher.create(suite, block.clientWrite(), provider);
            RecordCipher serverCipher;
            try {
                serverCipher = RecordCipher.create(suite, block.serverWrite(), provider);
            } catch (RuntimeException e) {
                clientCipher.close();
                throw e;
            }
            Direction client = new Direction(clientCipher);
            Direction serverDirection = new Direction(serverCipher);
            return server ? new ConnectionKeys(suite, serverDirection, client)
                    : new ConnectionKeys(suite, client, serverDirection);
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

    /** One direction's keys: its current cipher until taken, and the TLS 1.3 secret of its generation. */
    static final class Direction implements AutoCloseable {
        private final TlsCipherSuite suite;
        private final AeadProvider provider;
        /** The first cipher, until {@link #takeCipher()}. */
        private RecordCipher cipher;
        /** TLS 1.3: the current generation's keys, kept to derive the next; null for TLS 1.2, or once closed. */
        private TrafficKeys generation;

        /** TLS 1.3: takes ownership of {@code generation}. */
        private Direction(TlsCipherSuite suite, TrafficKeys generation, AeadProvider provider) {
            this.suite = suite;
            this.provider = provider;
            this.cipher = RecordCipher.create(suite, generation, provider);
            this.generation = generation;
        }

        /** TLS 1.2: the direction's one cipher. */
        private Direction(RecordCipher cipher) {
            this.suite = cipher.suite();
            this.provider = null;
            this.cipher = cipher;
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
            return generation != null;
        }

        /**
         * Moves to the next generation (RFC 8446 section 7.2) and returns its cipher, owned by the caller. When the
         * cipher cannot be made, the direction stays where it was and the exception propagates: the caller ends
         * the connection, since no record may follow on a key that is due for replacement.
         */
        RecordCipher nextCipher() {
            if (generation == null) {
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
