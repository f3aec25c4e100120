package io.ktls.handler.interop;

import io.netty.buffer.ByteBuf;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * What arrived at one end of a transfer: a byte count and a running SHA-256, plus the first bytes for
 * messages. Confined to one thread at a time (an event loop, or the thread draining a peer's output).
 */
final class ReceivedBytes {

    /** Enough for a peer's whole status report (s_client prints its session summary before the data). */
    private static final int HEAD_BYTES = 8192;
    private static final int TAIL_BYTES = 256;

    private final MessageDigest digest = Payload.newSha256();
    private final StringBuilder head = new StringBuilder();
    private final byte[] scratch = new byte[Payload.CHUNK_BYTES];
    private final byte[] tail = new byte[TAIL_BYTES];
    private long count;

    void update(byte[] bytes, int offset, int length) {
        digest.update(bytes, offset, length);
        count += length;
        for (int i = offset; i < offset + length && head.length() < HEAD_BYTES; i++) {
            head.append((char) (bytes[i] & 0xff));
        }
        int keep = Math.min(length, TAIL_BYTES);
        System.arraycopy(tail, keep, tail, 0, TAIL_BYTES - keep);
        System.arraycopy(bytes, offset + length - keep, tail, TAIL_BYTES - keep, keep);
    }

    /** Digests the readable bytes of {@code buf} without consuming them. */
    void update(ByteBuf buf) {
        int index = buf.readerIndex();
        int remaining = buf.readableBytes();
        while (remaining > 0) {
            int n = Math.min(remaining, scratch.length);
            buf.getBytes(index, scratch, 0, n);
            update(scratch, 0, n);
            index += n;
            remaining -= n;
        }
    }

    /** The last bytes as ISO-8859-1 text (a peer's closing report). */
    String tail() {
        int n = (int) Math.min(count, TAIL_BYTES);
        return new String(tail, TAIL_BYTES - n, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    long count() {
        return count;
    }

    /** Hex digest of everything seen; call once, at the end. */
    String sha256Hex() {
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The first bytes as ISO-8859-1 text, for assertion messages and short textual answers. */
    String head() {
        return head.toString();
    }
}
