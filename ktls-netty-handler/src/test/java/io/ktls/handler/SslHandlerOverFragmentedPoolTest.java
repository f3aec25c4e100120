package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Netty's own {@code SslHandler} writes each record it wraps (and each it unwraps) through the NIO view of the
 * buffer its allocator gives ({@code SslHandler.toByteBuffer}), as ciphers and file reads do. So a
 * {@link PageRunAllocator} with no free run of pages must still give one region from {@code directBuffer}: a
 * composite's view is a copy, and the records would leave empty. This is what a server gets with the pool as
 * its channels' allocator and the JDK's defaults, the TLS handshake of every {@code KtlsHandler} included.
 */
class SslHandlerOverFragmentedPoolTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final int PAGES = 16;
    private static final int BYTES = 256 * 1024;

    private PageRunAllocator pool;
    private final List<ByteBuf> held = new ArrayList<>();

    /** The default configuration in one slab of 16 pages, every other one held: no free run of two pages. */
    @BeforeEach
    void fragmentThePool() {
        pool = PageRunAllocator.builder().name("fragmented-default").arenas(1).slabBytes(PAGES * 4096)
                .maxRunPages(PAGES).maxMemoryBytes(PAGES * 4096).maxCachedBytesPerThread(0).reclaimThreads(false)
                .build();
        List<ByteBuf> pages = new ArrayList<>();
        for (int i = 0; i < PAGES; i++) {
            pages.add(pool.directBuffer(4096));
        }
        for (int i = 0; i < PAGES; i++) {
            if (i % 2 == 0) {
                held.add(pages.get(i));
            } else {
                pages.get(i).release();
            }
        }
    }

    @AfterEach
    void closeThePool() {
        held.forEach(ByteBuf::release);
        assertEquals(0, pool.metric().inFlightRuns(), "every run given back");
        pool.close();
    }

    @Test
    void recordsWrappedWhileThePoolIsFragmentedArriveIntact() throws Exception {
        byte[] content = new byte[BYTES];
        new Random(21).nextBytes(content);
        SslContext serverContext = TestTls.get().server(SUITE);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, SUITE);
        ByteCollector collector = new ByteCollector(BYTES);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                ch.config().setAllocator(pool);
                ch.pipeline().addLast(serverContext.newHandler(pool));
                ch.pipeline().addLast(new OnHandshakeSuccess(
                        ctx -> ctx.writeAndFlush(Unpooled.wrappedBuffer(content))));
            });
            Channel client = loopback.connectTls(clientContext, collector);
            assertArrayEquals(content, collector.received().get(30, TimeUnit.SECONDS));
            client.close().sync();
        }
        assertEquals(0, pool.metric().fallbackAllocations(), "no composite of pages was handed out");
    }
}
