package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.LinuxTlsCryptoInfo;
import io.ktls.handler.internal.kernel.ControlRecordSender;
import io.ktls.handler.internal.kernel.KernelTlsException;
import io.ktls.handler.internal.kernel.KernelTlsSocket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.UnsupportedMessageTypeException;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;

import javax.net.ssl.SSLException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The write side of a connection whose records Linux kernel TLS seals: the keys and the next sequence number were
 * installed on the socket at the takeover ({@link #install}), so every byte the transport writes leaves as
 * application_data, and a {@code DefaultFileRegion} on epoll is a {@code sendfile(2)} sealed in the kernel from the
 * page cache. This class passes writes to the transport untouched and keeps what the kernel cannot do for us:
 *
 * <ul>
 *   <li><b>Control records</b> (close_notify, a fatal alert, no_renegotiation) need {@code sendmsg(2)} with a
 *       {@code TLS_SET_RECORD_TYPE} control message, which Netty's stream channels do not send. With a
 *       {@link ControlRecordSender} (JDK 22 and later) the record goes out after every byte queued before it;
 *       without one the connection closes after its data with no close_notify (counted in
 *       {@link KtlsMetric#kernelCloseNotifyUnsent()}): HTTP/1.1 and HTTP/2 bodies carry their own length, and a
 *       TLS 1.3 client treats the TCP close as the end.</li>
 *   <li><b>The key's record limit</b>: the kernel of this generation does not rekey its transmit side, so the
 *       connection ends cleanly before the suite's limit (2^24 records for AES-GCM, RFC 8446 section 5.5): every
 *       {@link #checkIntervalBytes} handed over, the kernel's sequence number is read back, and once it, the bytes
 *       still queued and another interval could reach the limit, new writes fail and the connection closes after
 *       what was queued. A record holds at least one byte, so bytes bound records. A peer's KeyUpdate with
 *       update_requested, which we could not answer, ends the connection too.</li>
 *   <li><b>ChunkedInput</b>: the transport does not take it, so a {@link ChunkedWriteHandler} is placed in front of
 *       this handler at the first one and reads it as the socket drains.</li>
 * </ul>
 *
 * <p>Reading stays in the user-space {@link InboundRecordLayer}: a kernel receive path returns an error on a
 * control record unless the reader passes a control-message buffer, which Netty's read path does not.
 *
 * <p>Event loop only.
 */
final class KernelOutbound implements OutboundPath {

    /** Bytes handed to the kernel between two reads of its sequence number: at most as many records. */
    static final long DEFAULT_CHECK_INTERVAL_BYTES = 1 << 20;
    /** EAGAIN: the socket buffer is full; a control record waits for room. */
    private static final int EAGAIN = 11;
    private static final long FIRST_RETRY_MILLIS = 1;
    private static final long MAX_RETRY_MILLIS = 64;
    private static final String CHUNKED_WRITER_NAME = "ktls-kernel-chunked";

    private enum Lifecycle { OPEN, CLOSING, FAILED }

    private final ChannelHandlerContext ctx;
    private final KernelTlsSocket socket;
    private final TlsCipherSuite suite;
    private final KtlsStats stats;
    private final OutboundRecordLayer.Listener listener;
    /** Null where the JDK cannot send control records. */
    private final ControlRecordSender controlRecords;
    /** Records the installed key may seal (the suite's limit, or the configured rekey point if lower). */
    private final long recordLimit;
    private final long checkIntervalBytes;
    private long bytesSinceCheck;
    private Lifecycle lifecycle = Lifecycle.OPEN;
    private Throwable failure;
    /** The promise of our final record (close_notify or fatal alert), once asked for. */
    private ChannelPromise finalRecord;
    private boolean chunkedWriterAdded;

    private KernelOutbound(ChannelHandlerContext ctx, KernelTlsSocket socket, TlsCipherSuite suite, KtlsConfig config,
                           OutboundRecordLayer.Listener listener) {
        this.ctx = ctx;
        this.socket = socket;
        this.suite = suite;
        this.stats = config.stats();
        this.listener = listener;
        this.controlRecords = ControlRecordSender.get();
        long limit = suite.maxRecordsPerKey();
        if (suite.isTls13()) {
            limit = Math.min(limit, config.keyUpdateAfterRecords());
        }
        this.recordLimit = limit;
        this.checkIntervalBytes = Math.max(1, Math.min(DEFAULT_CHECK_INTERVAL_BYTES, limit / 4));
    }

    /**
     * Hands our write keys to the kernel, with {@code writeSequence} as the number of its first record. Everything
     * the handshake queued must already be in the socket: bytes still in the channel would be sealed a second time.
     * On success the keys of our direction are zeroed here (the kernel holds them now); on a refusal the socket is
     * as it was for writing (a {@code tls} protocol without transmit keys passes bytes through), so the user-space
     * record layer can take over.
     *
     * @throws KernelTlsRefused why the kernel path does not apply
     * @throws SSLException the kernel took the keys but does not report the sequence number given: the connection
     *         can go neither way and must end
     */
    static KernelOutbound install(ChannelHandlerContext ctx, ConnectionKeys keys, long writeSequence,
                                  KtlsConfig config, OutboundRecordLayer.Listener listener)
            throws KernelTlsRefused, SSLException {
        KernelTlsSocket socket = KernelTlsSocket.of(ctx.channel());
        if (socket == null) {
            throw new KernelTlsRefused(KernelTlsRefusal.TRANSPORT, "not an epoll socket channel: "
                    + ctx.channel().getClass().getSimpleName());
        }
        ChannelOutboundBuffer queued = ctx.channel().unsafe().outboundBuffer();
        if (queued != null && !queued.isEmpty()) {
            throw new KernelTlsRefused(KernelTlsRefusal.PENDING_WRITES, queued.totalPendingWriteBytes()
                    + " bytes of the handshake still queued in the channel");
        }
        try {
            socket.attachTlsProtocol();
        } catch (KernelTlsException e) {
            throw new KernelTlsRefused(e.errno() == KernelTlsSocket.ENOENT ? KernelTlsRefusal.NO_TLS_MODULE
                    : KernelTlsRefusal.ERROR, e.getMessage());
        }
        ByteBuffer info = keys.write.kernelCryptoInfo(writeSequence);
        try {
            socket.installTransmitKeys(info);
        } catch (KernelTlsException e) {
            int errno = e.errno();
            boolean suiteRefused = errno == KernelTlsSocket.EINVAL || errno == KernelTlsSocket.ENOPROTOOPT
                    || errno == KernelTlsSocket.EOPNOTSUPP;
            throw new KernelTlsRefused(suiteRefused ? KernelTlsRefusal.SUITE : KernelTlsRefusal.ERROR,
                    e.getMessage());
        } finally {
            LinuxTlsCryptoInfo.zero(info);
        }
        KernelOutbound outbound = new KernelOutbound(ctx, socket, keys.suite, config, listener);
        long kernelSequence = outbound.kernelSequence();
        if (kernelSequence != writeSequence) {
            throw new SSLException("kernel TLS reports sequence " + kernelSequence + " after being given "
                    + writeSequence);
        }
        keys.write.close();
        return outbound;
    }

    /** The kernel's next sequence number, read back from the socket (the copy of the key it returns is zeroed). */
    private long kernelSequence() throws SSLException {
        ByteBuffer state;
        try {
            state = socket.transmitState(LinuxTlsCryptoInfo.length(suite));
        } catch (KernelTlsException e) {
            throw new SSLException("reading the kernel's TLS sequence number failed", e);
        }
        try {
            return LinuxTlsCryptoInfo.sequence(state);
        } finally {
            LinuxTlsCryptoInfo.zero(state);
        }
    }

    @Override
    public void write(Object msg, ChannelPromise promise) {
        long bytes;
        if (msg instanceof ByteBuf) {
            bytes = ((ByteBuf) msg).readableBytes();
        } else if (msg instanceof FileRegion) {
            FileRegion region = (FileRegion) msg;
            bytes = region.count() - region.transferred();
        } else if (msg instanceof ChunkedInput) {
            long length = ((ChunkedInput<?>) msg).length();
            // Unknown length: read the kernel's sequence at the next write, whatever this one brings.
            bytes = length >= 0 ? length : checkIntervalBytes;
        } else {
            ReferenceCountUtil.release(msg);
            promise.setFailure(new UnsupportedMessageTypeException(msg, ByteBuf.class, FileRegion.class,
                    ChunkedInput.class));
            return;
        }
        if (lifecycle != Lifecycle.OPEN) {
            PendingWrite.discard(msg, promise,
                    failure != null ? failure : new SSLException("SSLEngine closed already"));
            return;
        }
        if (!withinRecordLimit(bytes)) {
            SSLException usedUp = new SSLException("record limit of the write key near (" + recordLimit
                    + " records), and kernel TLS cannot rekey: the connection ends");
            PendingWrite.discard(msg, promise, usedUp);
            failure = usedUp;
            ChannelPromise closed = ctx.newPromise();
            closed.addListener(f -> ctx.close());
            closeOutbound(closed);
            return;
        }
        if (msg instanceof ChunkedInput) {
            ensureChunkedWriter();
            long length = ((ChunkedInput<?>) msg).length();
            stats.kernelBytesWritten(Math.max(0, length));
        } else {
            stats.kernelBytesWritten(bytes);
        }
        ctx.write(msg, promise);
    }

    /**
     * Counts {@code bytes} about to be handed over; every {@link #checkIntervalBytes}, asks the kernel where its
     * sequence is. False when the key could reach its limit before the next check.
     */
    private boolean withinRecordLimit(long bytes) {
        bytesSinceCheck += bytes;
        if (bytesSinceCheck < checkIntervalBytes) {
            return true;
        }
        bytesSinceCheck = 0;
        long sequence;
        try {
            sequence = kernelSequence();
        } catch (SSLException e) {
            return false;
        }
        ChannelOutboundBuffer queued = ctx.channel().unsafe().outboundBuffer();
        long pending = queued == null ? 0 : queued.totalPendingWriteBytes();
        long reach = sequence + pending + bytes + checkIntervalBytes;
        return reach >= 0 && reach < recordLimit;
    }

    private void ensureChunkedWriter() {
        if (!chunkedWriterAdded) {
            chunkedWriterAdded = true;
            ctx.pipeline().addBefore(ctx.name(), CHUNKED_WRITER_NAME, new ChunkedWriteHandler());
        }
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public void closeOutbound(ChannelPromise promise) {
        if (lifecycle != Lifecycle.OPEN) {
            ClosingSequence.joinPrevious(finalRecord, promise);
            return;
        }
        lifecycle = Lifecycle.CLOSING;
        finalRecord = promise;
        sendAfterQueued(TlsRecords.ALERT_WARNING, TlsRecords.CLOSE_NOTIFY, promise);
    }

    /**
     * TLS 1.3 only: the peer asks for our KeyUpdate, which needs a new transmit key in the kernel: this generation
     * of kernel TLS cannot take one, so the connection ends rather than leave the request unanswered.
     */
    @Override
    public void keyUpdate(boolean requestPeerUpdate) {
        if (lifecycle == Lifecycle.OPEN) {
            listener.recordLayerFailed(new SSLException(
                    "the peer asked for a KeyUpdate, which kernel TLS cannot send: the connection ends"));
        }
    }

    @Override
    public void warningAlert(byte description) {
        if (lifecycle == Lifecycle.OPEN && controlRecords != null) {
            sendAfterQueued(TlsRecords.ALERT_WARNING, description, null);
        }
    }

    @Override
    public void fatalAlert(byte description, Throwable cause, ChannelPromise promise) {
        if (lifecycle == Lifecycle.FAILED) {
            promise.trySuccess();
            return;
        }
        if (lifecycle == Lifecycle.CLOSING) {
            // close_notify is on its way and nothing may follow it.
            finalRecord.addListener(f -> promise.trySuccess());
            return;
        }
        lifecycle = Lifecycle.CLOSING;
        failure = cause;
        finalRecord = promise;
        sendAfterQueued(TlsRecords.ALERT_FATAL, description, promise);
    }

    /**
     * Sends an alert once every byte queued before it is in the kernel (an empty write completes after the writes
     * ahead of it), so that the kernel seals it after them. {@code promise} (may be null) completes when it is
     * sent, or at once when this JDK cannot send control records.
     */
    private void sendAfterQueued(byte level, byte description, ChannelPromise promise) {
        ChannelFuture drained = ctx.writeAndFlush(Unpooled.EMPTY_BUFFER);
        drained.addListener(f -> {
            if (!f.isSuccess()) {
                if (promise != null) {
                    promise.tryFailure(f.cause());
                }
                return;
            }
            if (controlRecords == null) {
                if (description == TlsRecords.CLOSE_NOTIFY) {
                    stats.kernelClosedWithoutNotify();
                }
                if (promise != null) {
                    promise.trySuccess();
                }
                return;
            }
            sendAlert(new byte[] {level, description}, 0, promise, FIRST_RETRY_MILLIS);
        });
    }

    /** One sendmsg of the alert's remaining bytes; waits and tries again while the socket buffer is full. */
    private void sendAlert(byte[] alert, int offset, ChannelPromise promise, long retryMillis) {
        if (!ctx.channel().isOpen()) {
            if (promise != null) {
                promise.tryFailure(new SSLException("channel closed before the alert was sent"));
            }
            return;
        }
        int sent = controlRecords.send(socket.fd(), TlsRecords.ALERT, alert, offset, alert.length - offset);
        if (sent == -EAGAIN || (sent >= 0 && offset + sent < alert.length)) {
            int next = sent > 0 ? offset + sent : offset;
            long wait = Math.min(retryMillis * 2, MAX_RETRY_MILLIS);
            ctx.executor().schedule(() -> sendAlert(alert, next, promise, wait), retryMillis, TimeUnit.MILLISECONDS);
            return;
        }
        if (sent < 0) {
            if (promise != null) {
                promise.tryFailure(new SSLException("sendmsg of a TLS alert failed: errno " + -sent));
            }
            return;
        }
        if (promise != null) {
            promise.trySuccess();
        }
    }

    @Override
    public void fail(Throwable cause) {
        if (lifecycle == Lifecycle.FAILED) {
            return;
        }
        lifecycle = Lifecycle.FAILED;
        if (failure == null) {
            failure = cause;
        }
        // The writes handed over belong to the transport, which fails them when the channel closes.
        if (finalRecord != null) {
            finalRecord.tryFailure(cause);
        }
    }

    @Override
    public void close() {
        if (lifecycle != Lifecycle.FAILED) {
            fail(new SSLException("record layer closed"));
        }
    }

    @Override
    public boolean isOffloaded() {
        return false;
    }

    @Override
    public long nextSequence() {
        if (!ctx.channel().isOpen()) {
            return -1;
        }
        try {
            return kernelSequence();
        } catch (SSLException e) {
            return -1;
        }
    }

    @Override
    public int unacknowledgedRecords() {
        return 0;
    }

    /** Why a connection's keys did not go to the kernel; the connection stays in user space. */
    static final class KernelTlsRefused extends Exception {
        private static final long serialVersionUID = 1L;

        final KernelTlsRefusal refusal;

        KernelTlsRefused(KernelTlsRefusal refusal, String detail) {
            super(detail, null, false, false);
            this.refusal = refusal;
        }
    }
}
