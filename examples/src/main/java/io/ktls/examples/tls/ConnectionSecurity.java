package io.ktls.examples.tls;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.allocator.PageRunAllocatorMetric;
import io.ktls.examples.stats.AllocatorStats;
import io.ktls.examples.stats.JsonWriter;
import io.ktls.examples.stats.MetricJson;
import io.ktls.handler.KernelTls;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsHandler;
import io.ktls.handler.KtlsMetric;
import io.ktls.handler.KtlsOffloadGroup;
import io.ktls.handler.KtlsSniHandler;
import io.ktls.handler.RecordMemoryBudget;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.internal.PlatformDependent;

import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * What a server's {@link ServerMode} puts at the front of each connection's pipeline, and the resources
 * that outlive connections: the certificates (kept current by a {@link CertificateWatcher}), the offload worker
 * group ({@code offload} mode), the page-run allocator and the budget of record memory every connection shares
 * (both ktls-netty modes). Created once at start by the main thread, then used by
 * every event loop; {@link #close()} runs once at shutdown, after the event loops have stopped, so no
 * connection can still hand work to the offload group or hold a run of the allocator.
 */
public final class ConnectionSecurity implements AutoCloseable {

    /** The name of the TLS handler in every pipeline, whichever the mode. */
    public static final String TLS_HANDLER_NAME = "tls";

    /** How long {@link #close()} waits for the offload workers to finish their queues. */
    private static final long OFFLOAD_SHUTDOWN_TIMEOUT_MILLIS = 5_000;

    private final ServerMode mode;
    /** The certificates, null only in {@link ServerMode#PLAIN}. */
    private final ServerCertificates certificates;
    private final CertificateWatcher watcher;
    private final KtlsOffloadGroup offloadGroup;
    private final KtlsConfig ktlsConfig;
    private final PageRunAllocator pageRunAllocator;
    private final RecordMemoryBudget recordMemoryBudget;
    private final long handshakeTimeoutMillis;

    private ConnectionSecurity(ServerMode mode, ServerCertificates certificates, int offloadWorkers,
                               long recordMemoryBytes, long handshakeTimeoutMillis) {
        this.mode = mode;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
        this.certificates = certificates;
        this.watcher = certificates != null ? CertificateWatcher.start(certificates) : null;
        this.offloadGroup = mode == ServerMode.OFFLOAD || mode == ServerMode.AUTO
                ? new KtlsOffloadGroup(offloadWorkers) : null;
        this.recordMemoryBudget = mode.isKtls() ? new RecordMemoryBudget("server",
                recordMemoryBytes > 0 ? recordMemoryBytes : PlatformDependent.maxDirectMemory() / 4,
                RecordMemoryBudget.DEFAULT_GUARANTEED_RECORDS_PER_CONNECTION) : null;
        this.ktlsConfig = mode.isKtls() ? KtlsConfig.builder().offloadGroup(offloadGroup)
                .handshakeTimeoutMillis(handshakeTimeoutMillis)
                .kernelTls(mode == ServerMode.KERNEL ? KernelTls.REQUIRED
                        : mode == ServerMode.AUTO ? KernelTls.AUTO : KernelTls.OFF)
                .recordMemoryBudget(recordMemoryBudget).build() : null;
        this.pageRunAllocator = mode.isKtls() ? PageRunAllocator.builder().name("examples").build() : null;
    }

    /** {@link #create(ServerMode, ServerCertificates, int, long, long)} with the defaults. */
    public static ConnectionSecurity create(ServerMode mode, ServerCertificates certificates, int offloadWorkers) {
        return create(mode, certificates, offloadWorkers, 0, TimeUnit.SECONDS.toMillis(
                ServerConnectionOptions.DEFAULT_HANDSHAKE_TIMEOUT_SECONDS));
    }

    /**
     * @param certificates      the server's certificates, null only in {@link ServerMode#PLAIN}; kept current by a
     *                          {@link CertificateWatcher} until {@link #close()}, which closes them
     * @param offloadWorkers    worker threads of the offload group ({@link ServerMode#OFFLOAD} only)
     * @param recordMemoryBytes the budget of sealed, unwritten records all connections share (ktls-netty modes);
     *                          0 for a quarter of the JVM's direct memory limit
     * @param handshakeTimeoutMillis a connection not handshaken by then is closed
     */
    public static ConnectionSecurity create(ServerMode mode, ServerCertificates certificates, int offloadWorkers,
                                            long recordMemoryBytes, long handshakeTimeoutMillis) {
        Objects.requireNonNull(mode, "mode");
        if (recordMemoryBytes < 0) {
            throw new IllegalArgumentException("recordMemoryBytes: " + recordMemoryBytes + " (expected: >= 0)");
        }
        if (mode.isTls() != (certificates != null)) {
            throw new IllegalArgumentException("certificates: " + certificates + " (expected: "
                    + (mode.isTls() ? "non-null" : "null") + " in mode " + mode + ')');
        }
        if (offloadWorkers <= 0) {
            throw new IllegalArgumentException("offloadWorkers: " + offloadWorkers + " (expected: > 0)");
        }
        if (handshakeTimeoutMillis <= 0) {
            throw new IllegalArgumentException("handshakeTimeoutMillis: " + handshakeTimeoutMillis
                    + " (expected: > 0)");
        }
        return new ConnectionSecurity(mode, certificates, offloadWorkers, recordMemoryBytes, handshakeTimeoutMillis);
    }

    /** The server's certificates (null in {@link ServerMode#PLAIN}). */
    public ServerCertificates certificates() {
        return certificates;
    }

    public ServerMode mode() {
        return mode;
    }

    /** One line for the start-up log: what secures connections, and with which AEAD implementation. */
    public String describe() {
        if (!mode.isKtls()) {
            return "mode " + mode;
        }
        return "mode " + mode + (offloadGroup != null ? " (" + offloadGroup.workers() + " offload workers)" : "")
                + ", AEAD provider for AES-128-GCM: "
                + AeadProviders.preferred(TlsCipherSuite.TLS_AES_128_GCM_SHA256).name()
                + ", allocator " + pageRunAllocator.name()
                + ", record memory budget " + (recordMemoryBudget.capacityBytes() >> 20) + " MiB shared";
    }

    /**
     * The allocator to set as {@code ChannelOption.ALLOCATOR} on accepted channels: page runs in the
     * ktls-netty modes (records are sealed into 16 KiB runs), Netty's default otherwise.
     */
    public ByteBufAllocator allocator() {
        return pageRunAllocator != null ? pageRunAllocator : ByteBufAllocator.DEFAULT;
    }

    /** Adds the TLS handler (if any) at the front of a new connection's pipeline. */
    public void addTo(ChannelPipeline pipeline) {
        ChannelHandler handler = newTlsHandler(pipeline.channel().alloc());
        if (handler != null) {
            pipeline.addFirst(TLS_HANDLER_NAME, handler);
        }
    }

    /**
     * One certificate: the handler for its context as of now (a reload reaches new connections). Several: the
     * SNI handler, which chooses among them by the ClientHello's server name and then becomes the TLS handler.
     */
    private ChannelHandler newTlsHandler(ByteBufAllocator alloc) {
        switch (mode) {
            case OFFLOAD:
            case INLINE:
            case KERNEL:
            case AUTO:
                return certificates.hasSeveral() ? new KtlsSniHandler(certificates.byName(), ktlsConfig)
                                                 : new KtlsHandler(certificates.defaultContext(), ktlsConfig);
            case SSLHANDLER:
                if (certificates.hasSeveral()) {
                    return new SniHandler(certificates.byName(), handshakeTimeoutMillis);
                }
                SslHandler sslHandler = certificates.defaultContext().newHandler(alloc);
                sslHandler.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
                return sslHandler;
            case PLAIN:
                return null;
            default:
                throw new AssertionError("mode: " + mode);
        }
    }

    /** Renders this layer's counters (allocator, record layer) as members of a JSON object. */
    public void writeStats(JsonWriter json) {
        json.name("allocator").beginObject();
        if (pageRunAllocator != null) {
            json.field("type", PageRunAllocator.class.getSimpleName());
            MetricJson.write(json, PageRunAllocatorMetric.class, pageRunAllocator.metric());
        } else {
            AllocatorStats.write(json, allocator());
        }
        json.endObject();
        if (mode.isKtls()) {
            json.name("ktls");
            MetricJson.writeValue(json, KtlsMetric.global().toMap());
        }
    }

    @Override
    public void close() {
        if (offloadGroup != null) {
            offloadGroup.shutdownGracefully().awaitUninterruptibly(OFFLOAD_SHUTDOWN_TIMEOUT_MILLIS,
                    TimeUnit.MILLISECONDS);
        }
        if (pageRunAllocator != null) {
            pageRunAllocator.close();
        }
        if (watcher != null) {
            watcher.close();
        }
        if (certificates != null) {
            certificates.close();
        }
    }
}
