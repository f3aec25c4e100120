package io.ktls.handler;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Feeds {@code SslHandler} exactly one complete TLS record per {@code channelRead} during the handshake.
 *
 * <p>Why: when the peer's last handshake record and its first application record arrive in one read,
 * {@code SslHandler} would decrypt both before it announces the handshake, and that record would be lost to
 * the record layer taking over (its read sequence number already spent inside BoringSSL). One record per read
 * makes the takeover land between records: whatever follows stays here, raw, and is handed to
 * {@link KtlsHandler} when this splitter is removed ({@link ByteToMessageDecoder} passes its remaining bytes on).
 *
 * <p>Bytes that do not look like TLS records are passed on untouched so that {@code SslHandler} reports them
 * ({@code NotSslRecordException}) as it would without us. Event loop only.
 */
final class TlsRecordSplitter extends ByteToMessageDecoder {

    private boolean passThrough;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (passThrough) {
            out.add(in.readRetainedSlice(in.readableBytes()));
            return;
        }
        if (in.readableBytes() < TlsRecords.HEADER_LENGTH) {
            return;
        }
        int start = in.readerIndex();
        if (!TlsRecords.looksLikeRecordHeader(in, start)
                || in.getUnsignedShort(start + 3) > TlsRecords.MAX_TLS12_CIPHERTEXT_LENGTH) {
            // Not TLS, or longer than any record may be: SslHandler reports it, without us buffering it first.
            passThrough = true;
            out.add(in.readRetainedSlice(in.readableBytes()));
            return;
        }
        int recordLength = TlsRecords.HEADER_LENGTH + in.getUnsignedShort(start + 3);
        if (in.readableBytes() < recordLength) {
            return;
        }
        // One record per decode call: ByteToMessageDecoder fires it and checks for our removal before the next.
        out.add(in.readRetainedSlice(recordLength));
    }
}
