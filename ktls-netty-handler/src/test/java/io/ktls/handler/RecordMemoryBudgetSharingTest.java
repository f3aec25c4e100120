package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connections sharing one {@link RecordMemoryBudget}, each in an {@code EmbeddedChannel} (its own event loop, run
 * by the test) with a sealer that holds records until the test completes them: what a connection holds, when it
 * waits, who resumes it, and that every way a connection ends gives its bytes back.
 */
class RecordMemoryBudgetSharingTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
    private static final int PAYLOAD = 100;
    private static final int RECORD = RecordMemoryBudget.recordBytes(PAYLOAD);

    /** Holds every record until {@link #completeAll()}, which seals (or fails) them and reports them in order. */
    static final class GatedSealer implements RecordSealer {
        final RecordEncryptor sealing;
        final Completion completion;
        final List<OutboundRecord> submitted = new ArrayList<>();
        private int reported;
        boolean failSeals;

        GatedSealer(RecordEncryptor sealing, Completion completion) {
            this.sealing = sealing;
            this.completion = completion;
        }

        @Override
        public void submit(OutboundRecord record) {
            submitted.add(record);
        }

        @Override
        public void dispatch() {
        }

        void completeAll() {
            if (reported == submitted.size()) {
                return;
            }
            List<OutboundRecord> batch = new ArrayList<>(submitted.subList(reported, submitted.size()));
            reported = submitted.size();
            if (failSeals) {
                for (OutboundRecord record : batch) {
                    record.sealFailed(new IOException("sealing failed (test)"));
                }
            } else {
                sealing.seal(batch);
            }
            completion.recordsSealed(batch);
        }

        @Override
        public void close() {
            completeAll();
            sealing.close();
        }
    }

    private static final class Connection implements AutoCloseable {
        final TlsTestPeer peer;
        final GatedSealer sealer;

        Connection(RecordMemoryBudget budget) throws Exception {
            GatedSealer[] made = new GatedSealer[1];
            peer = TlsTestPeer.handshake(SUITE, KtlsConfig.builder().recordMemoryBudget(budget)
                    .maxRecordPayloadBytes(PAYLOAD).sealerFactory((sealing, completion, channel) ->
                            made[0] = new GatedSealer(sealing, completion)));
            sealer = made[0];
            peer.onClose = sealer::completeAll;
        }

        /** Runs the connection's event loop: what other connections' releases scheduled on it. */
        void runLoop() {
            peer.server.runPendingTasks();
        }

        byte[] applicationData() throws Exception {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (TlsTestPeer.Record record : peer.receive()) {
                if (record.type == TlsRecords.APPLICATION_DATA) {
                    out.write(record.payload);
                }
            }
            return out.toByteArray();
        }

        @Override
        public void close() throws Exception {
            peer.close();
        }
    }

    @Test
    void aConnectionBlockedOnAnExhaustedBudgetResumesOnItsOwnLoopWhenAnotherConnectionsRecordsComplete()
            throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 4L * RECORD, 1);
        try (Connection a = new Connection(budget); Connection b = new Connection(budget)) {
            byte[] dataA = KtlsHandlerFramingTest.random(10 * PAYLOAD);
            byte[] dataB = KtlsHandlerFramingTest.random(5 * PAYLOAD);
            ChannelFuture writtenA = a.peer.server.writeAndFlush(Unpooled.wrappedBuffer(dataA));
            assertEquals(4, a.sealer.submitted.size(), "one guaranteed record and three from the pool");
            ChannelFuture writtenB = b.peer.server.writeAndFlush(Unpooled.wrappedBuffer(dataB));
            assertEquals(1, b.sealer.submitted.size(), "the guaranteed record only: the pool is taken");
            assertEquals(2, budget.waitingConnections());
            assertEquals(5L * RECORD, budget.usedBytes());
            assertFalse(b.peer.server.isWritable(), "unwritable while it waits for the budget");

            a.sealer.completeAll(); // A's records are written: the pool serves A, then B, in arrival order
            assertEquals(1, b.sealer.submitted.size(), "B resumes on its own event loop, not on A's");
            b.runLoop();
            assertEquals(2, b.sealer.submitted.size(), "B framed a record with the budget A gave back");

            for (int round = 0; round < 100 && !(writtenA.isDone() && writtenB.isDone()); round++) {
                a.sealer.completeAll();
                b.sealer.completeAll();
                a.runLoop();
                b.runLoop();
            }
            assertTrue(writtenA.isSuccess(), "A's write: " + writtenA);
            assertTrue(writtenB.isSuccess(), "B's write: " + writtenB);
            assertArrayEquals(dataA, a.applicationData());
            assertArrayEquals(dataB, b.applicationData());
            assertTrue(b.peer.server.isWritable());
            assertEquals(0, budget.usedBytes());
            assertEquals(0, budget.waitingConnections());
            assertTrue(budget.waits() >= 2, "waits: " + budget.waits());
            // Over the pool by at most the guaranteed records of the connections: one each.
            assertTrue(budget.peakUsedBytes() >= 5L * RECORD && budget.peakUsedBytes() <= 6L * RECORD,
                    "peak: " + budget.peakUsedBytes());
        }
    }

    @Test
    void aBudgetTooSmallForOneRecordLeavesEachConnectionItsGuaranteedRecordsWithoutWaiting() throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", RECORD - 1, 2);
        try (Connection a = new Connection(budget)) {
            byte[] data = KtlsHandlerFramingTest.random(10 * PAYLOAD);
            ChannelFuture written = a.peer.server.writeAndFlush(Unpooled.wrappedBuffer(data));
            assertEquals(2, a.sealer.submitted.size());
            assertEquals(0, budget.waitingConnections(), "a pool that can never lend a record is not waited for");
            for (int round = 0; round < 20 && !written.isDone(); round++) {
                a.sealer.completeAll();
                a.runLoop();
            }
            assertTrue(written.isSuccess(), "write: " + written);
            assertArrayEquals(data, a.applicationData());
            assertEquals(0, budget.waits());
            assertEquals(2L * RECORD, budget.peakUsedBytes());
            assertEquals(0, budget.usedBytes());
        }
    }

    @Test
    void aConnectionThatDiesWithRecordsInFlightAndWaitingGivesEveryByteBack() throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 3L * RECORD, 1);
        try (Connection a = new Connection(budget)) {
            ChannelFuture written = a.peer.server.writeAndFlush(Unpooled.wrappedBuffer(
                    KtlsHandlerFramingTest.random(10 * PAYLOAD)));
            assertEquals(3L * RECORD, budget.usedBytes(), "one guaranteed record and two from the pool");
            assertEquals(1, budget.waitingConnections());
            a.peer.server.pipeline().fireChannelInactive(); // the peer reset the connection
            assertEquals(0, budget.waitingConnections(), "left the queue");
            assertTrue(written.isDone() && !written.isSuccess(), "the write failed: " + written);
            assertEquals(0, budget.usedBytes(), "records still being sealed gave their bytes back when they came back");
        }
        assertEquals(0, budget.usedBytes());
    }

    @Test
    void aConnectionWhoseHandlerIsRemovedWithRecordsPartlyWrittenGivesEveryByteBack() throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 3L * RECORD, 1);
        try (Connection a = new Connection(budget)) {
            a.peer.server.writeAndFlush(Unpooled.wrappedBuffer(KtlsHandlerFramingTest.random(10 * PAYLOAD)));
            a.sealer.completeAll(); // three written; a guaranteed record framed at once, more when A's loop runs
            a.runLoop();
            assertTrue(a.sealer.submitted.size() > 4, "framed: " + a.sealer.submitted.size());
            assertTrue(budget.usedBytes() > 0);
            a.peer.server.pipeline().remove(KtlsHandler.class);
            assertEquals(0, budget.usedBytes());
            assertEquals(0, budget.waitingConnections());
        }
    }

    @Test
    void recordsWhoseSealingFailedGiveTheirBytesBack() throws Exception {
        RecordMemoryBudget budget = new RecordMemoryBudget("test", 3L * RECORD, 1);
        try (Connection a = new Connection(budget)) {
            ChannelFuture written = a.peer.server.writeAndFlush(Unpooled.wrappedBuffer(
                    KtlsHandlerFramingTest.random(10 * PAYLOAD)));
            a.sealer.failSeals = true;
            a.sealer.completeAll();
            assertFalse(written.isSuccess());
            assertEquals(0, budget.usedBytes());
            assertEquals(0, budget.waitingConnections());
        }
        assertEquals(0, budget.usedBytes());
    }
}
