package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many connections over loopback share a budget of two records: every stream arrives whole (no connection
 * starves, none deadlocks), the connections did wait for the budget, and the budget is empty once they are done.
 */
class RecordMemoryBudgetLoopbackTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final int CONNECTIONS = 12;
    private static final int WRITES = 16;
    private static final int WRITE_BYTES = 32 * 1024;

    @RegisterExtension
    static final SharedOffloadGroup OFFLOAD = new SharedOffloadGroup(2);

    @Test
    void manyInlineConnectionsSharingATinyBudgetAllDeliverEveryByte() throws Exception {
        streamThroughATinyBudget(KtlsConfig.builder());
    }

    @Test
    void manyOffloadedConnectionsSharingATinyBudgetAllDeliverEveryByte() throws Exception {
        streamThroughATinyBudget(KtlsConfig.builder().offloadGroup(OFFLOAD.get()));
    }

    private static void streamThroughATinyBudget(KtlsConfig.Builder builder) throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("tiny", 2L * RecordMemoryBudget.recordBytes(
                KtlsConfig.MAX_RECORD_PAYLOAD_BYTES), 1);
        KtlsConfig config = builder.recordMemoryBudget(budget).build();
        byte[] data = KtlsHandlerFramingTest.random(WRITES * WRITE_BYTES);
        SslContext serverContext = TestTls.get().server(SUITE);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, SUITE);
        List<ChannelFuture> serverWrites = new CopyOnWriteArrayList<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, config),
                    new OnHandshakeSuccess(ctx -> {
                        for (int i = 0; i < WRITES; i++) {
                            serverWrites.add(ctx.write(Unpooled.wrappedBuffer(data, i * WRITE_BYTES, WRITE_BYTES)));
                        }
                        ctx.flush();
                    })));
            List<ByteCollector> collectors = new ArrayList<>();
            List<Channel> clients = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                ByteCollector collector = new ByteCollector(data.length);
                collectors.add(collector);
                clients.add(loopback.connectTls(clientContext, collector));
            }
            for (int i = 0; i < CONNECTIONS; i++) {
                byte[] received = collectors.get(i).received().get(60, TimeUnit.SECONDS);
                assertArrayEquals(data, Arrays.copyOf(received, data.length), "connection " + i);
            }
            CompletableFuture.allOf(serverWrites.stream().map(RecordMemoryBudgetLoopbackTest::toCompletable)
                    .toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            assertEquals(CONNECTIONS * WRITES, serverWrites.size());
            assertTrue(serverWrites.stream().allMatch(ChannelFuture::isSuccess));
            assertTrue(budget.waits() > 0, "the connections waited for the budget");
            for (Channel client : clients) {
                client.close().sync();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (budget.usedBytes() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, budget.usedBytes());
            assertEquals(0, budget.waitingConnections());
        } finally {
            ReferenceCountUtil.release(serverContext);
            ReferenceCountUtil.release(clientContext);
        }
    }

    private static CompletableFuture<Void> toCompletable(ChannelFuture future) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        future.addListener(f -> done.complete(null));
        return done;
    }
}
