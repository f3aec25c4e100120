package io.ktls.examples.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslContext;
import io.ktls.examples.stats.AllocatorStats;
import io.ktls.examples.stats.JsonWriter;
import io.netty.util.ReferenceCountUtil;

import java.util.Objects;

/**
 * What a server's {@link ServerMode} puts at the front of each connection's pipeline, and the resources
 * that outlive connections (the TLS context, the offload worker group, the page-run allocator). Created
 * once at start by the main thread, then used by every event loop; {@link #close()} runs once at
 * shutdown, after the event loops have stopped.
 */
public final class ConnectionSecurity implements AutoCloseable {

    /** The name of the TLS handler in every pipeline, whichever the mode. */
    public static final String TLS_HANDLER_NAME = "tls";

    private final ServerMode mode;
    private final SslContext sslContext;

    private ConnectionSecurity(ServerMode mode, SslContext sslContext) {
        this.mode = mode;
        this.sslContext = sslContext;
    }

    /**
     * @param sslContext the server context, null only in {@link ServerMode#PLAIN}
     * @param offloadWorkers worker threads of the offload group ({@link ServerMode#OFFLOAD} only)
     */
    public static ConnectionSecurity create(ServerMode mode, SslContext sslContext, int offloadWorkers) {
        Objects.requireNonNull(mode, "mode");
        if (mode.isTls() != (sslContext != null)) {
            throw new IllegalArgumentException("sslContext: " + sslContext + " (expected: "
                    + (mode.isTls() ? "non-null" : "null") + " in mode " + mode + ')');
        }
        if (mode.isKtls()) {
            throw new IllegalStateException("mode " + mode + " needs ktls-netty-handler's KtlsHandler,"
                    + " which this build does not contain yet");
        }
        return new ConnectionSecurity(mode, sslContext);
    }

    public ServerMode mode() {
        return mode;
    }

    /** The allocator to set as {@code ChannelOption.ALLOCATOR} on accepted channels. */
    public ByteBufAllocator allocator() {
        return ByteBufAllocator.DEFAULT;
    }

    /** Adds the TLS handler (if any) at the front of a new connection's pipeline. */
    public void addTo(ChannelPipeline pipeline) {
        ChannelHandler handler = newTlsHandler(pipeline.channel().alloc());
        if (handler != null) {
            pipeline.addFirst(TLS_HANDLER_NAME, handler);
        }
    }

    private ChannelHandler newTlsHandler(ByteBufAllocator alloc) {
        switch (mode) {
            case SSLHANDLER:
                return sslContext.newHandler(alloc);
            case PLAIN:
                return null;
            default:
                throw new AssertionError("mode: " + mode);
        }
    }

    /** Renders this layer's counters (allocator, record layer) as members of a JSON object. */
    public void writeStats(JsonWriter json) {
        json.name("allocator").beginObject();
        AllocatorStats.write(json, allocator());
        json.endObject();
    }

    @Override
    public void close() {
        ReferenceCountUtil.release(sslContext);
    }
}
