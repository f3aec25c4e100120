package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How records reach the pipeline: opened in place, one buffer per read, in order with control records. */
class KtlsHandlerReceiveTest {

    /** Counts the messages KtlsHandler passes on, then hands them to the peer's collector. */
    private static final class Reads extends ChannelInboundHandlerAdapter {
        final List<Integer> lengths = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            lengths.add(((ByteBuf) msg).readableBytes());
            ctx.fireChannelRead(msg);
        }
    }

    private static Reads countReads(TlsTestPeer peer) {
        Reads reads = new Reads();
        peer.server.pipeline().addAfter(peer.server.pipeline().context(peer.handler).name(), "reads", reads);
        return reads;
    }

    private static byte[] random(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The sealed records concatenated into one pooled direct buffer, as a socket read delivers them. */
    private static ByteBuf oneRead(TlsTestPeer peer, ByteBuf... records) {
        ByteBuf read = peer.server.alloc().directBuffer();
        for (ByteBuf r : records) {
            read.writeBytes(r);
            r.release();
        }
        return read;
    }

    @Test
    void recordsOfOneReadArriveAsOneBuffer() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            Reads reads = countReads(peer);
            byte[] a = random(16384, 1);
            byte[] b = random(100, 2);
            byte[] c = random(16384, 3);
            ByteBuf read = oneRead(peer, peer.seal(TlsRecords.APPLICATION_DATA, a),
                    peer.seal(TlsRecords.APPLICATION_DATA, new byte[0]),
                    peer.seal(TlsRecords.APPLICATION_DATA, b), peer.seal(TlsRecords.APPLICATION_DATA, c));
            peer.send(read);
            assertEquals(List.of(a.length + b.length + c.length), reads.lengths);
            byte[] received = new byte[peer.events.received.readableBytes()];
            peer.events.received.readBytes(received);
            byte[] expected = new byte[received.length];
            System.arraycopy(a, 0, expected, 0, a.length);
            System.arraycopy(b, 0, expected, a.length, b.length);
            System.arraycopy(c, 0, expected, a.length + b.length, c.length);
            assertArrayEquals(expected, received);
            assertEquals(0, read.refCnt(), "the read buffer is released with the plaintext slice");
        }
    }

    @Test
    void recordsCutAtAnyByteAreAssembledAcrossReads() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_256_GCM_SHA384)) {
            byte[] a = random(16384, 4);
            byte[] b = random(3000, 5);
            ByteBuf stream = oneRead(peer, peer.seal(TlsRecords.APPLICATION_DATA, a),
                    peer.seal(TlsRecords.APPLICATION_DATA, b));
            // Cuts inside the first header, inside the body, inside the second header, then the rest.
            int[] cuts = {2, 3, 9000, 16406 + 2 - 9005};
            for (int cut : cuts) {
                peer.send(stream.readBytes(cut));
                assertTrue(peer.events.exceptions.isEmpty(), () -> peer.events.exceptions.toString());
            }
            peer.send(stream.readBytes(stream.readableBytes()));
            stream.release();
            assertEquals(a.length + b.length, peer.events.received.readableBytes());
            byte[] first = new byte[a.length];
            peer.events.received.readBytes(first);
            assertArrayEquals(a, first);
            byte[] second = new byte[b.length];
            peer.events.received.readBytes(second);
            assertArrayEquals(b, second);
        }
    }

    @Test
    void dataBeforeCloseNotifyInOneReadArrivesFirst() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256)) {
            byte[] a = random(5000, 6);
            peer.send(oneRead(peer, peer.seal(TlsRecords.APPLICATION_DATA, a),
                    peer.seal(TlsRecords.ALERT, new byte[] {1, TlsRecords.CLOSE_NOTIFY}),
                    peer.seal(TlsRecords.APPLICATION_DATA, random(10, 7))));
            assertEquals(a.length, peer.events.received.readableBytes(),
                    "nothing after close_notify is passed on");
            assertTrue(peer.events.userEvents.contains(SslCloseCompletionEvent.SUCCESS),
                    peer.events.userEvents::toString);
        }
    }

    @Test
    void dataBeforeABadRecordInOneReadArrivesThenTheAlert() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            byte[] a = random(2000, 8);
            ByteBuf good = peer.seal(TlsRecords.APPLICATION_DATA, a);
            ByteBuf bad = peer.seal(TlsRecords.APPLICATION_DATA, random(300, 9));
            bad.setByte(bad.writerIndex() - 1, bad.getByte(bad.writerIndex() - 1) ^ 1);
            peer.send(oneRead(peer, good, bad));
            assertEquals(a.length, peer.events.received.readableBytes());
            assertEquals(1, peer.events.exceptions.size(), peer.events.exceptions::toString);
            assertTrue(peer.events.exceptions.get(0).getMessage().contains("failed authentication"),
                    peer.events.exceptions.get(0)::getMessage);
            assertArrayEquals(new byte[] {2, TlsRecordException.BAD_RECORD_MAC}, peer.onlyAlert());
        }
    }

    @Test
    void keyUpdateBetweenDataInOneReadTakesEffectForTheRecordsAfterIt() throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256)) {
            Reads reads = countReads(peer);
            byte[] a = random(7000, 10);
            byte[] b = random(9000, 11);
            ByteBuf before = peer.seal(TlsRecords.APPLICATION_DATA, a);
            ByteBuf keyUpdate = peer.seal(TlsRecords.HANDSHAKE, new byte[] {TlsRecords.KEY_UPDATE, 0, 0, 1, 0});
            peer.updateClientKeys();
            ByteBuf after = peer.seal(TlsRecords.APPLICATION_DATA, b);
            peer.send(oneRead(peer, before, keyUpdate, after));
            assertTrue(peer.events.exceptions.isEmpty(), () -> peer.events.exceptions.toString());
            assertEquals(List.of(a.length, b.length), reads.lengths);
            byte[] first = new byte[a.length];
            peer.events.received.readBytes(first);
            assertArrayEquals(a, first);
            byte[] second = new byte[b.length];
            peer.events.received.readBytes(second);
            assertArrayEquals(b, second);
        }
    }
}
