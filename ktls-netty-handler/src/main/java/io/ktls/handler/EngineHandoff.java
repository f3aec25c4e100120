package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.Buffer;
import io.netty.internal.tcnative.SSL;

import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What the record layer needs from BoringSSL at the end of the handshake, read in one go because the engine is
 * freed as soon as {@code SslHandler} leaves the pipeline.
 *
 * <p>Steps (event loop, inside the handshake-complete event):
 * <ol>
 *   <li>protocol and suite from the engine's session; a suite we do not implement ends here (fallback);</li>
 *   <li>TLS 1.3: the application traffic secrets from the key log. Server: BoringSSL holds its
 *       NewSessionTickets until the first {@code SSL_write}; a zero-length write and a {@code wrap} flush them
 *       as records under the server's application key, so our first record's sequence number is the count of
 *       those records ({@link #ticketFlight()} must be written before anything of ours);</li>
 *   <li>TLS 1.2: master secret and both randoms; each side's Finished was record 0, so both sequences are 1;</li>
 *   <li>the session snapshot and ALPN's choice.</li>
 * </ol>
 * Owns its secrets and {@link #ticketFlight()} until {@link #close()} (zeroes the secrets, releases the
 * flight if nobody took it).
 */
final class EngineHandoff implements AutoCloseable {

    /** Room for BoringSSL's two default tickets and then some; grown on BUFFER_OVERFLOW. */
    private static final int TICKET_FLIGHT_INITIAL_BYTES = 2048;
    private static final ByteBuffer ZERO_LENGTH_SOURCE = ByteBuffer.allocateDirect(1);

    final TlsCipherSuite suite;
    final boolean server;
    final KtlsSession session;
    final String applicationProtocol;
    /** TLS 1.3 application traffic secrets (client, server), or TLS 1.2 master secret; zeroed by close(). */
    final byte[] clientSecret;
    final byte[] serverSecret;
    final byte[] masterSecret;
    final byte[] clientRandom;
    final byte[] serverRandom;
    final long writeSequence;
    final long readSequence;
    private ByteBuf ticketFlight;

    private EngineHandoff(TlsCipherSuite suite, boolean server, KtlsSession session, String applicationProtocol,
                          byte[] clientSecret, byte[] serverSecret, byte[] masterSecret, byte[] clientRandom,
                          byte[] serverRandom, long writeSequence, long readSequence, ByteBuf ticketFlight) {
        this.suite = suite;
        this.server = server;
        this.session = session;
        this.applicationProtocol = applicationProtocol;
        this.clientSecret = clientSecret;
        this.serverSecret = serverSecret;
        this.masterSecret = masterSecret;
        this.clientRandom = clientRandom;
        this.serverRandom = serverRandom;
        this.writeSequence = writeSequence;
        this.readSequence = readSequence;
        this.ticketFlight = ticketFlight;
    }

    /** The suite this module implements for the engine's session, or {@code null} (stay on SslHandler). */
    static TlsCipherSuite supportedSuite(ReferenceCountedOpenSslEngine engine) {
        return TlsCipherSuite.of(engine.getSession().getProtocol(), engine.getSession().getCipherSuite())
                .orElse(null);
    }

    /**
     * Reads the handoff from a finished engine; {@code null} when the keys are not available (then the
     * connection stays on SslHandler). Copies the TLS 1.3 secrets out of {@code secrets}.
     */
    static EngineHandoff read(ReferenceCountedOpenSslEngine engine, TlsCipherSuite suite, Tls13SecretCollector secrets,
                              ByteBufAllocator alloc) throws SSLException {
        boolean server = !engine.getUseClientMode();
        // A server that asked for no client certificate has none to copy: asking the engine would only build an
        // SSLPeerUnverifiedException, stack trace and all, on every handshake.
        boolean peerMayHaveCertificates = !server || engine.getNeedClientAuth() || engine.getWantClientAuth();
        KtlsSession session = new KtlsSession(engine.getSession(), peerMayHaveCertificates);
        String alpn = engine.getApplicationProtocol();
        synchronized (engine) {
            long ssl = engine.sslPointer();
            if (ssl == 0) {
                return null;
            }
            if (suite.isTls13()) {
                byte[] client = secrets.clientTrafficSecret();
                byte[] server13 = secrets.serverTrafficSecret();
                if (client == null || server13 == null) {
                    return null;
                }
                ByteBuf flight = null;
                long writeSequence = 0;
                if (server) {
                    flight = flushTickets(engine, ssl, alloc);
                    writeSequence = countRecords(flight);
                }
                return new EngineHandoff(suite, server, session, alpn, client.clone(), server13.clone(), null,
                        null, null, writeSequence, 0, flight);
            }
            byte[] master = SSL.getMasterKey(ssl);
            byte[] clientRandom = SSL.getClientRandom(ssl);
            byte[] serverRandom = SSL.getServerRandom(ssl);
            if (master == null || clientRandom == null || serverRandom == null) {
                zero(master); // staying on SslHandler: the copy we were handed goes now
                return null;
            }
            return new EngineHandoff(suite, server, session, alpn, null, null, master, clientRandom, serverRandom,
                    1, 1, null);
        }
    }

    private static ByteBuf flushTickets(ReferenceCountedOpenSslEngine engine, long ssl, ByteBufAllocator alloc)
            throws SSLException {
        // A zero-length SSL_write makes BoringSSL queue the tickets it held back; wrap() then drains them.
        if (SSL.writeToSSL(ssl, Buffer.address(ZERO_LENGTH_SOURCE), 0) <= 0) {
            // No application byte was written, which BoringSSL may report as an error; the tickets are queued
            // all the same. Leave no error behind for the engine's next call.
            SSL.clearError();
        }
        ByteBuf flight = ContiguousMemory.require(alloc.directBuffer(TICKET_FLIGHT_INITIAL_BYTES), alloc);
        try {
            for (;;) {
                ByteBuffer dst = flight.nioBuffer(flight.writerIndex(), flight.writableBytes());
                SSLEngineResult result = engine.wrap(ByteBuffer.allocate(0), dst);
                if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                    flight.ensureWritable(flight.capacity());
                    continue;
                }
                if (result.bytesProduced() == 0) {
                    return flight;
                }
                flight.writerIndex(flight.writerIndex() + result.bytesProduced());
            }
        } catch (SSLException | RuntimeException e) {
            flight.release();
            throw e;
        }
    }

    /** Application-data records in {@code flight}: each spent one sequence number of the server's key. */
    private static long countRecords(ByteBuf flight) {
        long records = 0;
        int index = flight.readerIndex();
        while (index + TlsRecords.HEADER_LENGTH <= flight.writerIndex()) {
            if (flight.getByte(index) == TlsRecords.APPLICATION_DATA) {
                records++;
            }
            index += TlsRecords.HEADER_LENGTH + flight.getUnsignedShort(index + 3);
        }
        return records;
    }

    /**
     * The record-layer keys of both directions, derived from the secrets read here (which stay this object's, to
     * zero at {@link #close()}).
     */
    ConnectionKeys deriveKeys(AeadProvider provider) {
        return suite.isTls13() ? ConnectionKeys.tls13(suite, server, clientSecret, serverSecret, provider)
                : ConnectionKeys.tls12(suite, server, masterSecret, clientRandom, serverRandom, provider);
    }

    /** Records BoringSSL produced for the tickets; the caller takes ownership. May be {@code null}. */
    ByteBuf takeTicketFlight() {
        ByteBuf flight = ticketFlight;
        ticketFlight = null;
        return flight;
    }

    @Override
    public void close() {
        zero(clientSecret);
        zero(serverSecret);
        zero(masterSecret);
        if (ticketFlight != null) {
            ticketFlight.release();
            ticketFlight = null;
        }
    }

    private static void zero(byte[] secret) {
        if (secret != null) {
            Arrays.fill(secret, (byte) 0);
        }
    }

    @Override
    public String toString() {
        return "EngineHandoff(" + suite + (server ? ", server" : ", client") + ", writeSequence: " + writeSequence
                + ", readSequence: " + readSequence + ')';
    }
}
