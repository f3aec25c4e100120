package io.ktls.handler.interop;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.KtlsConfig;
import io.ktls.handler.KtlsHandler;
import io.ktls.handler.KtlsOffloadGroup;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedNioFile;

import javax.net.ssl.SSLSession;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The TLS handler under test, at the head of each pipeline: the interop server's accepted channels, and the
 * client channels of the client-mode tests.
 *
 * <p>{@link #SSL_HANDLER} is Netty's own {@code SslHandler} (OpenSSL provider): the baseline that proves the
 * harness itself, since it must pass every case the record layer is held to. {@link #KTLS_INLINE} seals on the
 * event loop; {@link #KTLS_OFFLOAD} on the workers of a {@code KtlsOffloadGroup} shared by all connections.
 */
enum ServerUnderTest {
    SSL_HANDLER("SslHandler") {
        @Override
        ChannelHandler newTlsHandler(SslContext sslContext, Channel channel, ServerResources resources) {
            return sslContext.newHandler(channel.alloc());
        }

        @Override
        ChannelHandler newClientTlsHandler(SslContext sslContext, Channel channel, String host, int port,
                                           ServerResources resources) {
            return sslContext.newHandler(channel.alloc(), host, port);
        }

        @Override
        ChannelFuture closeOutbound(ChannelPipeline pipeline) {
            return pipeline.get(SslHandler.class).closeOutbound();
        }

        @Override
        TlsState tlsState(ChannelPipeline pipeline) {
            SslHandler handler = pipeline.get(SslHandler.class);
            SSLSession session = handler.engine().getSession();
            return new TlsState(session.getProtocol(), session.getCipherSuite(), false);
        }

        @Override
        boolean takesOverRecordLayer() {
            return false;
        }

        /** SslHandler rejects FileRegion: files go through ChunkedWriteHandler, as in Netty's examples. */
        @Override
        Object fileBody(Path file, long size) throws IOException {
            return new ChunkedNioFile(FileChannel.open(file, StandardOpenOption.READ), 0, size, Payload.CHUNK_BYTES);
        }
    },
    KTLS_INLINE("KtlsHandler inline") {
        @Override
        ChannelHandler newTlsHandler(SslContext sslContext, Channel channel, ServerResources resources) {
            return new KtlsHandler(sslContext, KtlsConfig.defaults());
        }

        @Override
        ChannelHandler newClientTlsHandler(SslContext sslContext, Channel channel, String host, int port,
                                           ServerResources resources) {
            return new KtlsHandler(sslContext, host, port, KtlsConfig.defaults());
        }
    },
    KTLS_OFFLOAD("KtlsHandler offload") {
        @Override
        ChannelHandler newTlsHandler(SslContext sslContext, Channel channel, ServerResources resources) {
            return new KtlsHandler(sslContext, KtlsConfig.builder().offloadGroup(resources.offloadGroup()).build());
        }

        @Override
        ChannelHandler newClientTlsHandler(SslContext sslContext, Channel channel, String host, int port,
                                           ServerResources resources) {
            return new KtlsHandler(sslContext, host, port,
                    KtlsConfig.builder().offloadGroup(resources.offloadGroup()).build());
        }
    },
    /** Offload with {@code PageRunAllocator} as the channels' allocator: records sealed into page runs. */
    KTLS_OFFLOAD_PAGE_RUNS("KtlsHandler offload, page runs") {
        @Override
        ChannelHandler newTlsHandler(SslContext sslContext, Channel channel, ServerResources resources) {
            return KTLS_OFFLOAD.newTlsHandler(sslContext, channel, resources);
        }

        @Override
        boolean usesPageRunAllocator() {
            return true;
        }
    };

    /** What a server mode may need beyond the {@code SslContext}, owned by the test fixture. */
    interface ServerResources {
        /** The offload worker group, created on first use and closed with the fixture. */
        KtlsOffloadGroup offloadGroup();

        /** The page-run allocator, created on first use and closed with the fixture. */
        PageRunAllocator pageRunAllocator();
    }

    private final String label;

    ServerUnderTest(String label) {
        this.label = label;
    }

    abstract ChannelHandler newTlsHandler(SslContext sslContext, Channel channel, ServerResources resources);

    /** The same handler in client mode, for the client-side interop tests (sends no SNI for an address). */
    ChannelHandler newClientTlsHandler(SslContext sslContext, Channel channel, String host, int port,
                                       ServerResources resources) {
        throw new UnsupportedOperationException(this + " has no client mode here");
    }

    /** Sends close_notify after everything written so far, without closing the channel. */
    ChannelFuture closeOutbound(ChannelPipeline pipeline) {
        return pipeline.get(KtlsHandler.class).closeOutbound();
    }

    /** Reads the connection's TLS state; called on the event loop once the handshake has completed. */
    TlsState tlsState(ChannelPipeline pipeline) {
        KtlsHandler handler = pipeline.get(KtlsHandler.class);
        SSLSession session = handler.session();
        return new TlsState(session.getProtocol(), session.getCipherSuite(), handler.isRecordLayerActive());
    }

    /**
     * The message that sends {@code size} bytes of {@code file}: a {@code DefaultFileRegion}, which the record
     * layer reads with positional reads and seals into fresh buffers.
     */
    Object fileBody(Path file, long size) throws IOException {
        return new DefaultFileRegion(file.toFile(), 0, size);
    }

    /** Whether the server's channels allocate from the fixture's {@code PageRunAllocator}. */
    boolean usesPageRunAllocator() {
        return false;
    }

    /** Whether every connection in the suite must end with our record layer active. */
    boolean takesOverRecordLayer() {
        return true;
    }

    @Override
    public String toString() {
        return label;
    }
}
