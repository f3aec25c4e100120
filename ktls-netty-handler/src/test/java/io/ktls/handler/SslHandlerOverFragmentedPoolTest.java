package io.ktls.handler;

import io.ktls.allocator.PageRunAllocator;
import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

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
    private static final int BYTES = 256 * 1024;

    private FragmentedPool fragmented;
    private PageRunAllocator pool;

    /** The default configuration (no composite fallback), fragmented. */
    @BeforeEach
    void fragmentThePool() {
        fragmented = new FragmentedPool("fragmented-default", false);
        pool = fragmented.allocator;
    }

    @AfterEach
    void closeThePool() {
        fragmented.close();
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
