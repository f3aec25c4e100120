package io.ktls.handler;

import io.ktls.handler.internal.crypto.RecordCipher;
import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;

import java.util.ArrayList;
import java.util.List;

/**
 * One outgoing TLS record, from framing to the socket.
 *
 * <pre>
 *   FRAMED ──seal──▶ SEALED ──ready prefix──▶ written (output handed to the channel)
 *      └──────────▶ FAILED  (crypto or I/O error: the connection closes)
 * </pre>
 *
 * <p>Threads: the event loop fills every field up to {@link #state} at framing, then hands the record to a
 * {@link RecordSealer}; the sealing thread reads the plaintext pieces and writes {@link #output} or
 * {@link #failure}; the completion reaches the event loop through {@code execute}, so each side sees the
 * other's writes (the executor queues order them). After completion only the event loop touches the record.
 *
 * <p>Ownership: each piece holds its own reference (a retained slice of the caller's buffer, or a retained
 * {@link FileRegion}), released by {@link #releasePlaintext()} once sealed or failed; {@link #output} belongs to
 * the record until it is written (then to the channel) or released by {@link #releaseOutput()}.
 */
final class OutboundRecord {

    enum State { FRAMED, SEALED, FAILED }

    final long sequence;
    final byte contentType;
    final int payloadLength;
    final List<RecordPiece> pieces;
    /** The payload is one slice of a caller's buffer that we own outright: seal it where it lies. */
    final boolean inPlace;
    /** TLS 1.3 KeyUpdate: the sealing thread switches to this cipher right after sealing the record. */
    final RecordCipher nextCipher;
    /** Writes whose last byte travels in this record: completed when it is written. */
    final List<PendingWrite> completes = new ArrayList<>(2);

    /** Written by the sealing thread; read by the event loop only after {@link #completed}. */
    volatile State state = State.FRAMED;
    ByteBuf output;
    Throwable failure;
    /** Event loop only: the sealer reported this record done (the ready-prefix rule looks at this alone). */
    boolean completed;
    /** Event loop only: bytes this record holds of the {@link RecordMemoryBudget}; 0 once given back. */
    int budgetBytes;

    OutboundRecord(long sequence, byte contentType, List<RecordPiece> pieces, int payloadLength, boolean inPlace,
                   RecordCipher nextCipher) {
        this.sequence = sequence;
        this.contentType = contentType;
        this.pieces = pieces;
        this.payloadLength = payloadLength;
        this.inPlace = inPlace;
        this.nextCipher = nextCipher;
    }

    /** A record whose payload is a small buffer of our own (alerts, handshake messages). */
    static OutboundRecord control(long sequence, byte contentType, ByteBuf payload, RecordCipher nextCipher) {
        List<RecordPiece> pieces = new ArrayList<>(1);
        pieces.add(RecordPiece.of(payload));
        return new OutboundRecord(sequence, contentType, pieces, payload.readableBytes(), false, nextCipher);
    }

    /**
     * Sealing this record failed (or will never happen): gives back the plaintext and the next cipher it carries
     * and marks it FAILED; the event loop fails the connection when the record reaches the head of the queue.
     * Called by the sealing thread, before the record is reported.
     */
    void sealFailed(Throwable cause) {
        releasePlaintext();
        failUnsealed(cause);
    }

    /**
     * As {@link #sealFailed} but keeps the plaintext, which the encryptor gives back after the run of records it
     * seals together (the files of the run are checked once, at its end).
     */
    void failUnsealed(Throwable cause) {
        if (nextCipher != null) {
            nextCipher.close();
        }
        failure = cause;
        state = State.FAILED;
    }

    /**
     * A record sealed, then refused before it was reported (a file it was copied from lost the bytes copied):
     * gives back its output and marks it FAILED. Its next cipher, if it carried one, is already the encryptor's
     * write cipher and is closed with it. Called by the sealing thread.
     */
    void sealedThenRefused(Throwable cause) {
        releaseOutput();
        failure = cause;
        state = State.FAILED;
    }

    void releasePlaintext() {
        for (RecordPiece piece : pieces) {
            piece.release();
        }
        pieces.clear();
    }

    void releaseOutput() {
        ByteBuf out = output;
        output = null;
        if (out != null) {
            out.release();
        }
    }

    ByteBuf takeOutput() {
        ByteBuf out = output;
        output = null;
        return out;
    }

    @Override
    public String toString() {
        return "OutboundRecord(seq: " + sequence + ", type: " + contentType + ", payload: " + payloadLength
                + ", " + state + ')';
    }
}
