package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fatal alert or close_notify still being sealed (as on an offload worker, played here by a sealer that
 * completes records when the test says) holds the close back: a close asked for meanwhile, or bad input that
 * arrives then, does not cut off the records framed before it. They go out, in order, then the channel closes.
 */
class KtlsHandlerPendingCloseTest {

    private static final TlsCipherSuite TLS13 = TlsCipherSuite.TLS_AES_128_GCM_SHA256;

    private static final KtlsHandlerOrderingTest.HeldSealer[] SEALER = new KtlsHandlerOrderingTest.HeldSealer[1];

    private static TlsTestPeer peerWithHeldSealer(KtlsConfig.Builder config) throws Exception {
        TlsTestPeer peer = TlsTestPeer.handshake(TLS13, config.sealerFactory((sealing, completion, channel) ->
                SEALER[0] = new KtlsHandlerOrderingTest.HeldSealer(sealing, completion)));
        peer.onClose = SEALER[0]::completeAll;
        return peer;
    }

    private static ByteBuf forgedRecord() {
        return Unpooled.buffer().writeByte(TlsRecords.APPLICATION_DATA).writeShort(0x0303).writeShort(40)
                .writeZero(40);
    }

    @Test
    void closeDuringAPendingFatalAlertWaitsForTheAlert() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            ChannelFuture data = peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
            peer.send(forgedRecord());
            ChannelFuture closed = peer.server.close(); // as an application does in exceptionCaught
            assertTrue(peer.server.isOpen(), "the data record and the alert are still being sealed");
            assertFalse(closed.isDone());
            SEALER[0].completeAll();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(2, records.size());
            assertArrayEquals(new byte[] {1, 2, 3}, records.get(0).payload);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.BAD_RECORD_MAC}, records.get(1).payload);
            assertTrue(data.isSuccess(), "framed before the error, so written");
            assertTrue(closed.isSuccess());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void bytesArrivingWhileTheAlertIsPendingAreDroppedNotBuffered() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            peer.send(forgedRecord());
            assertTrue(peer.server.isOpen(), "the alert is still being sealed");
            int buffered = peer.handler.bufferedInboundBytes(); // the forged record, at most
            ByteBuf flood = Unpooled.directBuffer(64 * 1024).writeZero(64 * 1024);
            peer.send(flood);
            assertEquals(0, flood.refCnt());
            assertEquals(buffered, peer.handler.bufferedInboundBytes(), "nothing more is read after a fatal error");
            SEALER[0].completeAll();
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.BAD_RECORD_MAC}, peer.onlyAlert());
        }
    }

    @Test
    void bytesArrivingAfterThePeersCloseNotifyAreDroppedNotBuffered() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            peer.sendRecord(TlsRecords.ALERT, new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.CLOSE_NOTIFY});
            assertTrue(peer.server.isOpen(), "our close_notify is still being sealed");
            peer.sendRecord(TlsRecords.APPLICATION_DATA, new byte[1000]);
            assertEquals(0, peer.handler.bufferedInboundBytes(), "nothing is read after close_notify");
            assertEquals(0, peer.events.received.readableBytes());
            SEALER[0].completeAll();
            assertArrayEquals(new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.CLOSE_NOTIFY}, peer.onlyAlert());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void badInputAfterCloseNotifyWasFramedClosesAfterIt() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder())) {
            peer.server.write(Unpooled.wrappedBuffer(new byte[] {4, 5}));
            ChannelFuture closed = peer.server.close();
            peer.send(forgedRecord());
            assertTrue(peer.server.isOpen(), "close_notify is still being sealed");
            SEALER[0].completeAll();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(2, records.size(), "no alert after close_notify");
            assertArrayEquals(new byte[] {4, 5}, records.get(0).payload);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_WARNING, TlsRecords.CLOSE_NOTIFY}, records.get(1).payload);
            assertTrue(closed.isDone());
            assertFalse(peer.server.isOpen());
        }
    }

    @Test
    void badInputWhileACloseWaitsForQueuedDataSendsTheAlertBeforeClosing() throws Exception {
        try (TlsTestPeer peer = peerWithHeldSealer(KtlsConfig.builder().maxRecordPayloadBytes(100)
                .maxRecordsInFlight(2))) {
            ByteBuf data = Unpooled.directBuffer(500).writeZero(500);
            ChannelFuture write = peer.server.write(data);
            ChannelFuture closed = peer.server.close(); // close_notify waits behind the three records not framed
            assertEquals(2, SEALER[0].held.size(), "two records in flight, the cap");
            peer.send(forgedRecord());
            assertTrue(peer.server.isOpen(), "the alert replaces close_notify and is still being sealed");
            assertFalse(closed.isDone());
            SEALER[0].completeAll();
            List<TlsTestPeer.Record> records = peer.receive();
            assertEquals(3, records.size());
            assertEquals(TlsRecords.APPLICATION_DATA, records.get(0).type);
            assertEquals(TlsRecords.APPLICATION_DATA, records.get(1).type);
            assertArrayEquals(new byte[] {TlsRecords.ALERT_FATAL, TlsRecords.BAD_RECORD_MAC}, records.get(2).payload);
            assertFalse(write.isSuccess(), "its last three records were never framed");
            assertEquals(0, data.refCnt());
            assertTrue(closed.isDone());
            assertFalse(peer.server.isOpen());
        }
    }
}
