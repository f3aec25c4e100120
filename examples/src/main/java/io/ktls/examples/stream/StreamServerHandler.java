package io.ktls.examples.stream;

import io.ktls.examples.tls.ServerMode;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.buffer.ByteBuf;
import io.netty.handler.stream.ChunkedNioFile;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * Answers the one request line of a connection ({@code STREAM} or {@code STATS}, see the package
 * description). A stream keeps {@link #WRITES_IN_FLIGHT} repetitions of the file queued so the socket
 * never waits for the next write to be made; each completed repetition queues the next, on a later turn of
 * the event loop. One instance per connection, used by its event loop only (write listeners and the scheduled
 * next write run there too).
 */
final class StreamServerHandler extends SimpleChannelInboundHandler<ByteBuf> {

    /** Two: one being sent, one queued behind it. More only adds memory in the chunked mode. */
    private static final int WRITES_IN_FLIGHT = 2;
    /**
     * Chunk size of {@code ChunkedNioFile} in sslhandler mode: one chunk per TLS record, the best case for
     * {@code SslHandler} (Netty's default of 8 KiB would halve the record size).
     */
    private static final int CHUNK_BYTES = 16384;

    private final Path file;
    private final long periodBytes;
    private final boolean pattern;
    private final ServerMode mode;
    private final ChannelFutureListener writeNext = this::writeCompleted;
    private final Runnable writeRepetition = this::writeRepetition;
    private ChannelHandlerContext ctx;
    private boolean streaming;

    StreamServerHandler(Path file, long periodBytes, boolean pattern, ServerMode mode) {
        this.file = file;
        this.periodBytes = periodBytes;
        this.pattern = pattern;
        this.mode = mode;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
        if (streaming) {
            return; // the client has nothing more to say; ignore whatever it sends
        }
        String request = line.toString(StandardCharsets.US_ASCII).trim();
        switch (request) {
            case "STREAM":
                this.ctx = ctx;
                streaming = true;
                for (int i = 0; i < WRITES_IN_FLIGHT; i++) {
                    writeRepetition();
                }
                break;
            case "STATS":
                String stats = "cpuNanos=" + ProcessCpu.nanos() + " period=" + periodBytes + " pattern=" + pattern
                        + " mode=" + mode + '\n';
                ctx.writeAndFlush(ctx.alloc().buffer().writeBytes(stats.getBytes(StandardCharsets.US_ASCII)))
                        .addListener(ChannelFutureListener.CLOSE);
                break;
            default:
                System.err.println("closing " + ctx.channel().remoteAddress() + ": unknown request line");
                ctx.close();
        }
    }

    private void writeRepetition() {
        if (!ctx.channel().isActive()) {
            return; // closed while the next repetition waited for its turn
        }
        Object body;
        if (mode.writesFileRegions()) {
            body = new DefaultFileRegion(file.toFile(), 0, periodBytes); // opens the file lazily, closes on release
        } else {
            try {
                body = new ChunkedNioFile(FileChannel.open(file, StandardOpenOption.READ), 0, periodBytes,
                        CHUNK_BYTES);
            } catch (IOException e) {
                System.err.println("closing " + ctx.channel().remoteAddress() + ": " + e);
                ctx.close();
                return;
            }
        }
        ctx.writeAndFlush(body).addListener(writeNext);
    }

    private void writeCompleted(ChannelFuture future) {
        if (future.isSuccess()) {
            // Not here: over loopback a write completes inside the transport's write loop, and writing the next
            // repetition from its completion chained repetition after repetition (megabytes wrapped in sslhandler
            // mode) before the loop read any other socket; new connections waited seconds for their handshake.
            // A task scheduled with no delay starts after the loop's next poll of its sockets (Netty takes due
            // scheduled tasks once per pass); the other repetition in flight keeps the socket busy meanwhile.
            ctx.executor().schedule(writeRepetition, 0, TimeUnit.NANOSECONDS);
        } else {
            if (!(future.cause() instanceof ClosedChannelException) && future.channel().isActive()) {
                System.err.println("stream to " + future.channel().remoteAddress() + " failed: " + future.cause());
            }
            future.channel().close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Clients end streams by closing: resets and truncation are the normal end, not worth a trace.
        ctx.close();
    }
}
