package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * After a record of a connection fails to seal, no further record of it is sealed, inline or offloaded. A failed
 * KeyUpdate is the sharp case: its records after it were framed from sequence number 0 for the new key, and
 * sealing them with the old key would repeat nonces that key has used.
 */
class SealFailurePoisonsDirectionTest {

    /** Enough records to fill the in-flight cap (32) and the sealer's batches after the failure. */
    private static final int WRITE_BYTES = 40 * 16384;
    @RegisterExtension
    static final SharedOffloadGroup OFFLOAD_GROUP = new SharedOffloadGroup(1);

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void noRecordIsSealedAfterADataRecordFailed(boolean offload) throws Exception {
        SealLoggingAeadProvider provider = SealLoggingAeadProvider.failingEncryption(3);
        List<SealLoggingAeadProvider.Seal> log = runUntilClosed(provider, offload, Long.MAX_VALUE);
        assertNothingSealedAfterTheFailure(log);
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void failedKeyUpdateLeavesNoRecordToTheOldKey(boolean offload) throws Exception {
        SealLoggingAeadProvider provider = SealLoggingAeadProvider.failingKeyUpdate();
        List<SealLoggingAeadProvider.Seal> log = runUntilClosed(provider, offload, 4);
        assertNothingSealedAfterTheFailure(log);
        Set<String> nonces = new HashSet<>();
        for (SealLoggingAeadProvider.Seal seal : log) {
            if (seal.sealed) {
                assertTrue(nonces.add(seal.key + '/' + seal.nonce), "nonce used twice with one key: " + log);
            }
        }
    }

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void keyUpdateWhoseCipherCannotBeMadeEndsTheConnection(boolean offload) throws Exception {
        SealLoggingAeadProvider provider = SealLoggingAeadProvider.failingKeyUpdateCipher();
        List<SealLoggingAeadProvider.Seal> log = runUntilClosed(provider, offload, 4);
        assertTrue(provider.cipherRefused(), "the KeyUpdate's cipher was never asked for: " + log);
        Set<String> nonces = new HashSet<>();
        for (SealLoggingAeadProvider.Seal seal : log) {
            assertTrue(nonces.add(seal.key + '/' + seal.nonce), "nonce used twice with one key: " + log);
        }
    }

    private static void assertNothingSealedAfterTheFailure(List<SealLoggingAeadProvider.Seal> log) {
        int failure = -1;
        for (int i = 0; i < log.size(); i++) {
            if (!log.get(i).sealed) {
                failure = i;
                break;
            }
        }
        assertTrue(failure >= 0, "the injected failure never happened: " + log);
        assertEquals(failure + 1, log.size(), "records sealed after the failure: " + log);
    }

    /**
     * The server writes {@link #WRITE_BYTES} in one go to an OpenSSL client; returns the provider's log once
     * the server's connection has closed on the failure.
     */
    private static List<SealLoggingAeadProvider.Seal> runUntilClosed(SealLoggingAeadProvider provider,
                                                                     boolean offload, long keyUpdateAfterRecords)
            throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().aeadProvider(provider)
                .offloadGroup(offload ? OFFLOAD_GROUP.get() : null).keyUpdateAfterRecords(keyUpdateAfterRecords)
                .build();
        CompletableFuture<Channel> serverChannel = new CompletableFuture<>();
        CompletableFuture<ChannelFuture> sent = new CompletableFuture<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                KtlsHandler handler = new KtlsHandler(serverContext, config);
                serverChannel.complete(ch);
                ch.pipeline().addLast(handler, new OnHandshakeSuccess(ctx -> {
                    ByteBuf data = ctx.alloc().directBuffer(WRITE_BYTES);
                    data.writeZero(WRITE_BYTES);
                    sent.complete(ctx.writeAndFlush(data));
                }) {
                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        // The injected failure: the handler closes the connection.
                    }
                });
            });
            Channel client = loopback.connect(ch -> ch.pipeline().addLast(
                    clientContext.newHandler(ch.alloc(), "localhost", loopback.port()),
                    new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            io.netty.util.ReferenceCountUtil.release(msg);
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            ctx.close();
                        }
                    }));
            client.pipeline().get(SslHandler.class).handshakeFuture().await(10, TimeUnit.SECONDS);
            Channel server = serverChannel.get(10, TimeUnit.SECONDS);
            assertTrue(server.closeFuture().await(10, TimeUnit.SECONDS), "the server did not close on the failure");
            ChannelFuture write = sent.get(5, TimeUnit.SECONDS);
            assertTrue(write.await(5, TimeUnit.SECONDS));
            assertFalse(write.isSuccess(), "the write succeeded despite the failure");
            client.close().sync();
            // Offloaded records still queued when the connection closed finish on the worker (the group's only
            // one): a task queued behind them runs once they are done.
            CompletableFuture<Void> drained = new CompletableFuture<>();
            OFFLOAD_GROUP.get().workerFor(server).execute(() -> drained.complete(null));
            drained.get(10, TimeUnit.SECONDS);
        }
        return provider.log();
    }
}
