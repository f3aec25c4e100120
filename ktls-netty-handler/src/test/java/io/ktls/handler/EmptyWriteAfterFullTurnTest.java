package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A response whose last data record fills its event-loop turn, followed by an empty write (an HTTP codec's
 * {@code LastHttpContent}): the empty write completes with the records before it, not a turn later. Waiting for
 * the next turn let a peer that had read every byte close first, and the server's last write failed with
 * {@code ClosedChannelException} (seen with curl downloading 100 MiB).
 */
class EmptyWriteAfterFullTurnTest {

    private static final int RECORDS = 4;
    private static final int RECORD_BYTES = 1000;

    @Test
    void anEmptyWriteAfterAFullTurnCompletesInThatTurn() throws Exception {
        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().maxRecordsInFlight(RECORDS).maxRecordPayloadBytes(RECORD_BYTES)
                .build();
        byte[] content = new byte[RECORDS * RECORD_BYTES];
        new Random(11).nextBytes(content);
        CompletableFuture<Boolean> emptyDoneInTurn = new CompletableFuture<>();
        CompletableFuture<ChannelFuture> emptyWrite = new CompletableFuture<>();
        ByteCollector collector = new ByteCollector(content.length);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, config),
                    new OnHandshakeSuccess(ctx -> {
                        // One task of the event loop: the next turn cannot run before it returns.
                        ctx.write(Unpooled.wrappedBuffer(content));
                        ChannelFuture empty = ctx.writeAndFlush(Unpooled.EMPTY_BUFFER);
                        emptyDoneInTurn.complete(empty.isDone());
                        emptyWrite.complete(empty);
                    })));
            Channel client = loopback.connectTls(clientContext, collector);
            assertArrayEquals(content, collector.received().get(30, TimeUnit.SECONDS));
            ChannelFuture empty = emptyWrite.get(5, TimeUnit.SECONDS);
            assertTrue(empty.await(5, TimeUnit.SECONDS) && empty.isSuccess(), "empty write: " + empty.cause());
            assertTrue(emptyDoneInTurn.get(), "the empty write waited for another turn of the event loop,"
                    + " after the records before it were written");
            client.close().sync();
        }
    }
}
