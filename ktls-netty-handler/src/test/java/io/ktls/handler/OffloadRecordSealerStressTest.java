package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.internal.crypto.RecordCipher;
import io.ktls.handler.internal.crypto.TrafficKeys;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The offload sealer's way back loses nothing: connections on two event loops push passes of records through
 * their pinned workers while earlier batches are still being sealed and drained, so batches are added to the
 * sealed queue while a drain is scheduled, running, or just done, and workers hold hand-backs for several
 * connections at once. Every record must come back exactly once, sealed, in sequence order, on its event loop; a
 * stranded batch stalls its connection and the test fails on its deadline. With a minimum batch, small passes are
 * sealed on the event loop between batches sealed on the worker: each record must still decrypt with its own
 * sequence number, which a cipher used by both threads at once, or in the wrong order, would break.
 */
@Tag("stress")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OffloadRecordSealerStressTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final int CONNECTIONS = 12;
    private static final int RECORDS = 4_000;
    /** As the record layer: a cap of records in flight, and new passes only once a few slots are free. */
    private static final int MAX_IN_FLIGHT = 16;
    private static final int PAYLOAD_BYTES = 16;

    @Test
    void everyRecordComesBackOnceSealedAndInOrder() throws Exception {
        run(0);
    }

    @Test
    void smallPassesSealedOnTheEventLoopInterleaveWithWorkerBatchesInOrder() throws Exception {
        // Passes of 1 to 3 records stay on the event loop when nothing of theirs is at the worker; 4 to 8 go.
        run(4 * PAYLOAD_BYTES);
    }

    private void run(int minBatchBytes) throws Exception {
        MultiThreadIoEventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, LocalIoHandler.newFactory());
        List<Connection> connections = new ArrayList<>();
        try (KtlsOffloadGroup group = new KtlsOffloadGroup(2)) {
            CountDownLatch finished = new CountDownLatch(CONNECTIONS);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                Channel channel = new LocalChannel();
                loops.next().register(channel).sync();
                byte[] secret = new byte[32];
                Arrays.fill(secret, (byte) i);
                KtlsStats stats = new KtlsStats();
                RecordEncryptor encryptor = new RecordEncryptor(RecordCipher.create(TrafficKeys.tls13(SUITE, secret)),
                        UnpooledByteBufAllocator.DEFAULT, stats);
                Connection connection = new Connection(channel, finished, failure,
                        RecordCipher.create(TrafficKeys.tls13(SUITE, secret)), stats);
                connection.sealer = new OffloadRecordSealer(encryptor, connection, group, channel, minBatchBytes);
                connections.add(connection);
                channel.eventLoop().execute(connection::pass);
            }
            boolean done = finished.await(60, TimeUnit.SECONDS);
            assertNull(failure.get(), "a record came back wrong");
            StringBuilder progress = new StringBuilder();
            for (Connection connection : connections) {
                progress.append(connection.reported).append(' ');
            }
            assertTrue(done, "connections stalled (a stranded batch), records back: " + progress);
            for (Connection connection : connections) {
                long inline = connection.stats.offloadBatchesKeptInline();
                if (minBatchBytes == 0) {
                    assertEquals(0, inline, "nothing stays on the event loop without a minimum batch");
                } else {
                    assertTrue(inline > 0 && inline < connection.passes,
                            "both ways taken: " + inline + " of " + connection.passes + " passes inline");
                }
            }
        } finally {
            for (Connection connection : connections) {
                connection.channel.close().syncUninterruptibly();
            }
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** One connection's write side; every field but the channel belongs to its event loop. */
    private static final class Connection implements RecordSealer.Completion {
        final Channel channel;
        final CountDownLatch finished;
        final AtomicReference<Throwable> failure;
        /** The peer's read cipher for our records: each must open with its own sequence number. */
        final RecordCipher reader;
        final KtlsStats stats;
        final ByteBuffer plaintext = ByteBuffer.allocate(64);
        OffloadRecordSealer sealer;
        long framed;
        long passes;
        long reported;
        int inFlight;

        Connection(Channel channel, CountDownLatch finished, AtomicReference<Throwable> failure, RecordCipher reader,
                   KtlsStats stats) {
            this.channel = channel;
            this.finished = finished;
            this.failure = failure;
            this.reader = reader;
            this.stats = stats;
        }

        /** A framing pass of 1 to 8 records, within the cap. */
        void pass() {
            int records = 1 + ThreadLocalRandom.current().nextInt(8);
            for (int i = 0; i < records && inFlight < MAX_IN_FLIGHT && framed < RECORDS; i++) {
                ByteBuf payload = Unpooled.buffer(PAYLOAD_BYTES).writeLong(framed).writeLong(~framed);
                sealer.submit(OutboundRecord.control(framed++, TlsRecords.APPLICATION_DATA, payload, null));
                inFlight++;
            }
            passes++;
            sealer.dispatch();
        }

        @Override
        public void recordsSealed(List<OutboundRecord> records) {
            try {
                assertTrue(channel.eventLoop().inEventLoop(), "completion off the event loop");
                for (OutboundRecord record : records) {
                    if (record.sequence != reported || record.state != OutboundRecord.State.SEALED
                            || record.output.readableBytes() != 5 + PAYLOAD_BYTES + 17) {
                        throw new AssertionError("expected record " + reported + " sealed, got " + record);
                    }
                    plaintext.clear();
                    reader.open(reported, record.output.nioBuffer(), plaintext);
                    plaintext.flip();
                    if (plaintext.getLong() != reported || plaintext.getLong() != ~reported) {
                        throw new AssertionError("record " + reported + " carries another record's payload");
                    }
                    record.releaseOutput();
                    reported++;
                    inFlight--;
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                return;
            }
            if (reported == RECORDS) {
                sealer.close();
                reader.close();
                finished.countDown();
            } else {
                // As the record layer: framing resumes on a later event (a socket write completing), not inside
                // the completion, so passes race with drains still queued on the event loop.
                channel.eventLoop().execute(this::writeCompleted);
            }
        }

        void writeCompleted() {
            if (inFlight == 0) {
                // Up to three passes at once, so that batches are sealed while earlier ones are drained; then
                // mostly no pass until every record is back, so that no later batch's drain picks up a stranded
                // one by chance.
                int passes = 1 + ThreadLocalRandom.current().nextInt(3);
                for (int i = 0; i < passes; i++) {
                    pass();
                }
            } else if (inFlight <= MAX_IN_FLIGHT / 2 && ThreadLocalRandom.current().nextInt(4) == 0) {
                pass();
            }
        }
    }
}
