package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Records complete in any order, yet only the contiguous prefix of completed records is written; writes
 * complete (and release their buffers) with their last record; the in-flight cap drives writability.
 */
class KtlsHandlerOrderingTest {

    /** Seals each record as submitted (the cipher needs no order) but reports completion when the test says. */
    static final class HeldSealer implements RecordSealer {
        final RecordEncryptor sealing;
        final Completion completion;
        final List<OutboundRecord> held = new ArrayList<>();

        HeldSealer(RecordEncryptor sealing, Completion completion) {
            this.sealing = sealing;
            this.completion = completion;
        }

        @Override
        public void submit(OutboundRecord record) {
            sealing.seal(List.of(record));
            held.add(record);
        }

        /** Completion waits for the test. */
        @Override
        public void dispatch() {
        }

        void completeAll() {
            for (OutboundRecord record : new ArrayList<>(held)) {
                if (!record.completed) {
                    completion.recordSealed(record);
                }
            }
        }

        void complete(int index) {
            completion.recordSealed(held.get(index));
        }

        /** Like a real sealer, finishes what it was given before it lets go of the keys. */
        @Override
        public void close() {
            for (OutboundRecord record : new ArrayList<>(held)) {
                if (!record.completed) {
                    completion.recordSealed(record);
                }
            }
            sealing.close();
        }
    }

    private static final HeldSealer[] SEALER = new HeldSealer[1];

    private static TlsTestPeer peerWithHeldSealer(KtlsConfig.Builder config) throws Exception {
        TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256,
                config.sealerFactory((sealing, completion, channel) -> SEALER[0] = new HeldSealer(sealing, completion)));
        HeldSealer sealer = SEALER[0];
        peer.onClose = sealer::completeAll;
        return peer;
    }

    @Test
    void onlyTheContiguousPrefixOfCompletedRecordsIsWritten() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder().maxRecordPayloadBytes(100))) {
            HeldSealer sealer = SEALER[0];
            byte[] data = KtlsHandlerFramingTest.random(500);
            ChannelFuture written = peer.server.writeAndFlush(Unpooled.wrappedBuffer(data));
            assertEquals(5, sealer.held.size());
            sealer.complete(2);
            sealer.complete(4);
            sealer.complete(3);
            assertTrue(peer.receive().isEmpty(), "record 0 not done: nothing may go out");
            sealer.complete(0);
            assertEquals(1, peer.receive().size(), "only record 0 is ready at the front");
            assertFalse(written.isDone(), "the write's last record is not written yet");
            sealer.complete(1);
            List<TlsTestPeer.Record> rest = peer.receive();
            assertEquals(4, rest.size(), "records 1-4 go out together once 1 is done");
            assertTrue(written.isSuccess());
        }
    }

    @RepeatedTest(10)
    void randomCompletionOrderKeepsTheStreamInOrder() throws Exception {
        Random random = new Random();
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder().maxRecordPayloadBytes(64)
                .maxRecordsInFlight(1000))) {
            HeldSealer sealer = SEALER[0];
            ByteBuf expected = Unpooled.buffer();
            List<ChannelFuture> futures = new ArrayList<>();
            List<ByteBuf> buffers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                byte[] chunk = KtlsHandlerFramingTest.random(1 + random.nextInt(300));
                expected.writeBytes(chunk);
                ByteBuf buf = Unpooled.directBuffer(chunk.length).writeBytes(chunk);
                buffers.add(buf);
                futures.add(peer.server.write(buf));
                if (random.nextInt(3) == 0) {
                    peer.server.flush();
                }
            }
            peer.server.flush();
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < sealer.held.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, random);
            ByteBuf received = Unpooled.buffer();
            for (int index : order) {
                sealer.complete(index);
                for (TlsTestPeer.Record r : peer.receive()) {
                    received.writeBytes(r.payload);
                }
            }
            assertEquals(expected, received);
            for (int i = 0; i < futures.size(); i++) {
                assertTrue(futures.get(i).isSuccess(), "write " + i);
                assertEquals(0, buffers.get(i).refCnt(), "buffer " + i + " released once");
            }
            expected.release();
            received.release();
        }
    }

    @Test
    void recordsInFlightCapTurnsTheChannelUnwritableAndBack() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder().maxRecordsInFlight(4))) {
            HeldSealer sealer = SEALER[0];
            Channel channel = peer.server;
            assertTrue(channel.isWritable());
            ChannelFuture written = channel.writeAndFlush(
                    Unpooled.wrappedBuffer(new byte[10 * KtlsConfig.DEFAULT_MAX_RECORD_PAYLOAD_BYTES]));
            assertEquals(4, sealer.held.size(), "framing stops at the cap");
            assertEquals(4, peer.handler.unacknowledgedRecords());
            assertFalse(channel.isWritable(), "cap reached: unwritable");
            for (int i = 0; i < 4; i++) {
                sealer.complete(i);
            }
            peer.receive();
            assertTrue(sealer.held.size() > 4, "framing resumed as records were written");
            int next = 4;
            while (next < sealer.held.size()) {
                sealer.complete(next++);
                peer.receive();
            }
            assertEquals(10, sealer.held.size());
            assertTrue(written.isSuccess());
            assertTrue(channel.isWritable(), "writable again when drained");
        }
    }

    @Test
    void closeGivesUpWaitingForCloseNotifyAfterTheFlushTimeout() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            ChannelFuture written = peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[100]));
            // Through the pipeline: EmbeddedChannel.close() would cancel the scheduled tasks it then leaves.
            ChannelFuture closed = peer.server.pipeline().close();
            peer.server.runPendingTasks();
            assertFalse(closed.isDone(), "waiting for the records before close_notify");
            peer.server.advanceTimeBy(3, java.util.concurrent.TimeUnit.SECONDS);
            peer.server.runScheduledPendingTasks();
            assertTrue(closed.isDone() && closed.isSuccess(), "closed anyway after 3 s");
            assertFalse(peer.server.isOpen());
            SEALER[0].completeAll();
            assertTrue(written.isDone());
            assertFalse(written.isSuccess(), "never written");
        }
    }

    @Test
    void failureWithRecordsInFlightReleasesEverything() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            HeldSealer sealer = SEALER[0];
            ByteBuf payload = Unpooled.directBuffer(40000).writeZero(40000);
            ChannelFuture written = peer.server.writeAndFlush(payload);
            assertEquals(3, sealer.held.size());
            sealer.complete(1);
            // Bad input arrives while records are in flight: the alert must wait for them.
            ByteBuf bad = peer.seal(TlsRecords.APPLICATION_DATA, new byte[10]);
            bad.setByte(10, bad.getByte(10) ^ 1);
            peer.send(bad);
            assertEquals(4, sealer.held.size(), "the alert is framed after the records in flight");
            for (int i : new int[] {3, 2, 0}) {
                sealer.complete(i);
            }
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(4, records.size());
            assertArrayEquals(new byte[] {2, TlsRecords.BAD_RECORD_MAC}, records.get(3).payload);
            assertTrue(written.isSuccess(), "data framed before the error still went out");
            assertEquals(0, payload.refCnt());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void channelClosingWithRecordsInFlightReleasesThemWhenTheyComeBack() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            HeldSealer sealer = SEALER[0];
            ByteBuf payload = Unpooled.directBuffer(40000).writeZero(40000);
            ChannelFuture written = peer.server.writeAndFlush(payload);
            peer.server.pipeline().fireChannelInactive();
            for (int i = sealer.held.size() - 1; i >= 0; i--) {
                sealer.complete(i);
            }
            assertTrue(written.isDone());
            assertFalse(written.isSuccess());
            assertEquals(0, payload.refCnt());
            for (OutboundRecord r : sealer.held) {
                assertTrue(r.output == null, "output released: " + r);
            }
        }
    }
}
