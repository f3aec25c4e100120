package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * The read side of the record layer after the takeover: opens records ({@link RecordReader}) and reacts to what
 * they carry, as RFC 8446 and RFC 5246 ask of a connection past its handshake.
 *
 * <ul>
 *   <li>application data goes to the {@link Listener}, one buffer per run of records of one read (opened in
 *       place by the {@link RecordReader});</li>
 *   <li>alerts: a warning close_notify, and any fatal-level alert, go to the listener; warning-level
 *       user_canceled, and TLS 1.2 warnings, are ignored (TLS 1.3 treats other warnings as fatal, RFC 8446
 *       section 6); an unknown level is illegal_parameter;</li>
 *   <li>handshake messages, reassembled across records (a zero-length handshake record is unexpected_message,
 *       RFC 8446 section 5.1, RFC 5246 section 6.2.1): TLS 1.3 KeyUpdate moves to the next read key (and asks
 *       the listener to answer when the peer requests it); NewSessionTicket is accepted by a client. TLS 1.2:
 *       any handshake message to a server is a renegotiation attempt and ends the connection with a fatal
 *       no_renegotiation; a client answers an empty HelloRequest with a no_renegotiation warning (RFC 5246
 *       section 7.2.2); a HelloRequest with a body is decode_error;</li>
 *   <li>anything else is a {@link TlsRecordException} naming the alert to send.</li>
 * </ul>
 *
 * <h2>Bounds (BoringSSL's)</h2>
 * A peer may send, for free, records that cost us work and move no data; so each kind is bounded in a row, and
 * the connection ends with unexpected_message past the bound:
 * <ul>
 *   <li>{@value #MAX_CONSECUTIVE_POST_HANDSHAKE_MESSAGES} KeyUpdates or HelloRequests without application data
 *       between them ({@code kMaxKeyUpdates}, ssl/tls13_both.cc);</li>
 *   <li>{@value #MAX_CONSECUTIVE_WARNING_ALERTS} ignored warning alerts without another record between them
 *       ({@code kMaxWarningAlerts}, ssl/tls_record.cc);</li>
 *   <li>{@value RecordReader#MAX_CONSECUTIVE_EMPTY_RECORDS} empty records ({@link RecordReader}).</li>
 * </ul>
 * What we send in answer is bounded by the {@link OutboundRecordLayer}: one KeyUpdate and one
 * no_renegotiation answer at a time, each under {@code maxRecordsInFlight}.
 * Ownership: the read keys, the reader's buffered bytes and partial handshake messages belong here until
 * {@link #close()}. Event loop only.
 */
final class InboundRecordLayer implements AutoCloseable {

    /** NewSessionTickets reach a few KiB; a post-handshake message this large is not legitimate. */
    private static final int MAX_POST_HANDSHAKE_MESSAGE_BYTES = 65536;
    /** BoringSSL's {@code kMaxKeyUpdates}: KeyUpdates (and here HelloRequests) in a row without data. */
    static final int MAX_CONSECUTIVE_POST_HANDSHAKE_MESSAGES = 32;
    /** BoringSSL's {@code kMaxWarningAlerts}: ignored warning alerts in a row. */
    static final int MAX_CONSECUTIVE_WARNING_ALERTS = 4;

    /** What the peer's records mean for the connection; called on the event loop. */
    interface Listener {
        /** Plaintext for the pipeline; the listener owns {@code data}. */
        void applicationData(ByteBuf data);

        void closeNotifyReceived();

        void fatalAlertReceived(int description);

        /** TLS 1.3 KeyUpdate with update_requested: update our write key too. */
        void keyUpdateRequested();

        /** TLS 1.2 HelloRequest to a client: answer with a no_renegotiation warning. */
        void renegotiationRefused();
    }

    private final TlsCipherSuite suite;
    private final boolean server;
    private final KtlsStats stats;
    private final ByteBufAllocator alloc;
    private final Listener listener;
    private final RecordReader reader;
    /** The peer's direction: a KeyUpdate takes its next cipher from here (owned by the connection's keys). */
    private final ConnectionKeys.Direction keys;
    private ByteBuf handshakeMessages;
    private boolean stopped;
    /** KeyUpdates and HelloRequests since the last application data. */
    private int consecutivePostHandshakeMessages;
    /** Ignored warning alerts since the last record of another type. */
    private int consecutiveWarningAlerts;

    /** Takes the read cipher out of {@code keys} for its record reader. */
    InboundRecordLayer(ConnectionKeys keys, boolean server, long readSequence, ByteBufAllocator alloc,
                       KtlsStats stats, Listener listener) {
        this.suite = keys.suite;
        this.server = server;
        this.stats = stats;
        this.alloc = alloc;
        this.listener = listener;
        this.keys = keys.read;
        this.reader = new RecordReader(keys.read.takeCipher(), readSequence, alloc, stats);
    }

    /** Takes ownership of {@code in}. */
    void add(ByteBuf in) {
        reader.add(in);
    }

    /** Bytes received that are not part of an opened record. */
    int bufferedBytes() {
        return reader.bufferedBytes();
    }

    /** No record is processed after this (the connection is ending). */
    void stop() {
        stopped = true;
    }

    /**
     * Opens and handles every complete record buffered, until none is left or {@link #stop()} is called.
     *
     * @throws TlsRecordException bad input, with the alert to send
     */
    void process() throws TlsRecordException {
        while (!stopped) {
            RecordReader.Opened record = reader.next();
            if (record == null) {
                return;
            }
            dispatch(record.contentType, record.plaintext);
        }
    }

    private void dispatch(byte contentType, ByteBuf plaintext) throws TlsRecordException {
        if (contentType != TlsRecords.HANDSHAKE && handshakeMessages != null) {
            plaintext.release();
            // RFC 8446 section 5.1: handshake messages must not be interleaved with other record types.
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                    "content type " + contentType + " inside a fragmented handshake message");
        }
        if (contentType != TlsRecords.ALERT) {
            consecutiveWarningAlerts = 0;
        }
        switch (contentType) {
            case TlsRecords.APPLICATION_DATA:
                if (plaintext.isReadable()) {
                    consecutivePostHandshakeMessages = 0;
                    listener.applicationData(plaintext);
                } else {
                    plaintext.release();
                }
                return;
            case TlsRecords.ALERT:
                try {
                    onAlert(plaintext);
                } finally {
                    plaintext.release();
                }
                return;
            case TlsRecords.HANDSHAKE:
                if (!plaintext.isReadable()) {
                    plaintext.release();
                    // RFC 8446 section 5.1, RFC 5246 section 6.2.1: handshake records are never empty.
                    throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                            "zero-length handshake record");
                }
                onHandshakeFragment(plaintext);
                return;
            default:
                plaintext.release();
                throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                        "unexpected content type " + contentType + " after the handshake");
        }
    }

    private void onAlert(ByteBuf alert) throws TlsRecordException {
        if (alert.readableBytes() != 2) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "alert of " + alert.readableBytes() + " bytes (expected: 2)");
        }
        int level = alert.getUnsignedByte(alert.readerIndex());
        int description = alert.getUnsignedByte(alert.readerIndex() + 1);
        if (level == TlsRecords.ALERT_FATAL) {
            // Whatever the description, even close_notify (as BoringSSL reads it).
            stopped = true;
            listener.fatalAlertReceived(description);
        } else if (level != TlsRecords.ALERT_WARNING) {
            throw new TlsRecordException(TlsRecordException.ILLEGAL_PARAMETER, "alert level " + level);
        } else if (description == TlsRecords.CLOSE_NOTIFY) {
            stopped = true;
            listener.closeNotifyReceived();
        } else if (description == TlsRecords.USER_CANCELED || !suite.isTls13()) {
            if (++consecutiveWarningAlerts > MAX_CONSECUTIVE_WARNING_ALERTS) {
                stats.warningAlertFloodRefused();
                throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                        "more than " + MAX_CONSECUTIVE_WARNING_ALERTS + " warning alerts in a row");
            }
        } else {
            // RFC 8446 section 6: in TLS 1.3 every other alert is fatal, whatever its level says.
            stopped = true;
            listener.fatalAlertReceived(description);
        }
    }

    private void onHandshakeFragment(ByteBuf fragment) throws TlsRecordException {
        ByteBuf in = handshakeMessages == null ? fragment
                : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(alloc, handshakeMessages, fragment);
        handshakeMessages = in;
        while (in.readableBytes() >= 4 && !stopped) {
            int type = in.getUnsignedByte(in.readerIndex());
            int length = in.getUnsignedMedium(in.readerIndex() + 1);
            if (length > MAX_POST_HANDSHAKE_MESSAGE_BYTES) {
                throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                        "handshake message of " + length + " bytes after the handshake");
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            ByteBuf body = in.slice(in.readerIndex() + 4, length);
            in.skipBytes(4 + length);
            onHandshakeMessage(type, body, in.isReadable());
        }
        if (!in.isReadable()) {
            in.release();
            handshakeMessages = null;
        }
    }

    private void onHandshakeMessage(int type, ByteBuf body, boolean moreInRecord) throws TlsRecordException {
        if (suite.isTls13()) {
            if (type == TlsRecords.NEW_SESSION_TICKET && !server) {
                return; // Accepted, not kept: resuming would need BoringSSL's session cache, which we left.
            }
            if (type == TlsRecords.KEY_UPDATE) {
                countPostHandshakeMessage();
                onKeyUpdate(body, moreInRecord);
                return;
            }
        } else if (server) {
            // Any handshake message to a TLS 1.2 server asks for a new handshake; like BoringSSL, the answer is
            // a fatal no_renegotiation (a warning would let the peer ask again and again).
            stats.renegotiationRefused();
            throw new TlsRecordException(TlsRecordException.NO_RENEGOTIATION,
                    "renegotiation refused (handshake message " + type + " after the handshake)");
        } else if (type == TlsRecords.HELLO_REQUEST) {
            if (body.isReadable()) {
                throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                        "HelloRequest of " + body.readableBytes() + " bytes (expected: 0)");
            }
            countPostHandshakeMessage();
            stats.renegotiationRefused();
            // RFC 5246 section 7.2.2: no_renegotiation is a warning; the connection goes on.
            listener.renegotiationRefused();
            return;
        }
        throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                "unexpected handshake message " + type + " after the handshake");
    }

    private void countPostHandshakeMessage() throws TlsRecordException {
        if (++consecutivePostHandshakeMessages > MAX_CONSECUTIVE_POST_HANDSHAKE_MESSAGES) {
            stats.postHandshakeMessageFloodRefused();
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE, "more than "
                    + MAX_CONSECUTIVE_POST_HANDSHAKE_MESSAGES + " KeyUpdates or HelloRequests without data");
        }
    }

    private void onKeyUpdate(ByteBuf body, boolean moreInRecord) throws TlsRecordException {
        if (body.readableBytes() != 1) {
            throw new TlsRecordException(TlsRecordException.DECODE_ERROR,
                    "KeyUpdate of " + body.readableBytes() + " bytes (expected: 1)");
        }
        int request = body.getUnsignedByte(body.readerIndex());
        if (request > 1) {
            throw new TlsRecordException(TlsRecordException.ILLEGAL_PARAMETER,
                    "KeyUpdate request_update " + request);
        }
        if (moreInRecord) {
            // RFC 8446 section 5.1: a message that changes keys must end its record.
            throw new TlsRecordException(TlsRecordException.UNEXPECTED_MESSAGE,
                    "data after KeyUpdate in the same record");
        }
        reader.rekey(keys.nextCipher());
        if (request == 1) {
            listener.keyUpdateRequested();
        }
    }

    /** Releases buffered bytes and the read cipher (the connection's keys zero the secrets). Idempotent. */
    @Override
    public void close() {
        stopped = true;
        reader.close();
        if (handshakeMessages != null) {
            handshakeMessages.release();
            handshakeMessages = null;
        }
    }
}
