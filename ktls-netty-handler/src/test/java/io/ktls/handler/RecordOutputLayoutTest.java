package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which records go to the transport as one buffer, and which as header, body and trailer side by side. */
class RecordOutputLayoutTest {

    @Test
    void aRecordGoesOutAsOneBufferWhenItTakesNoMoreMemoryThanItsBody() {
        assertTrue(RecordEncryptor.fitsOneBuffer(16384 - 22, 16384), "a full default record: four pages");
        assertTrue(RecordEncryptor.fitsOneBuffer(100, 122), "one fragment instead of two");
        assertTrue(RecordEncryptor.fitsOneBuffer(2000, 2022));
        assertTrue(RecordEncryptor.fitsOneBuffer(5000, 5022), "two pages either way");
        assertFalse(RecordEncryptor.fitsOneBuffer(16384, 16406), "the TLS maximum would take a fifth page");
        assertFalse(RecordEncryptor.fitsOneBuffer(4090, 4112), "a second page for the trailer");
    }

    @Test
    void fullRecordsOfTheDefaultSizeReachTheTransportAsSingleBuffers() throws Exception {
        List<Object> outputs = outputsOf(KtlsConfig.builder(), 3 * 16384);
        assertEquals(4, outputs.size());
        for (Object output : outputs) {
            assertFalse(output instanceof CompositeByteBuf, output.getClass().getName());
            assertEquals(1, ((ByteBuf) output).nioBufferCount(), "one contiguous record");
        }
        release(outputs);
    }

    @Test
    void recordsOfTheTlsMaximumKeepTheirHeaderAndTrailerApart() throws Exception {
        List<Object> outputs = outputsOf(
                KtlsConfig.builder().maxRecordPayloadBytes(KtlsConfig.MAX_RECORD_PAYLOAD_BYTES), 3 * 16384);
        assertEquals(3, outputs.size());
        for (Object output : outputs) {
            assertEquals(3, ((ByteBuf) output).nioBufferCount(), "header | body | trailer");
            assertEquals(16384 + 22, ((ByteBuf) output).readableBytes());
        }
        release(outputs);
    }

    /** The buffers the handler wrote to the channel for one write of {@code length} bytes. */
    private static List<Object> outputsOf(KtlsConfig.Builder config, int length) throws Exception {
        try (TlsTestPeer peer = TlsTestPeer.handshake(TlsCipherSuite.TLS_AES_128_GCM_SHA256, config)) {
            peer.server.writeAndFlush(Unpooled.wrappedBuffer(new byte[length]));
            List<Object> outputs = new ArrayList<>();
            Object o;
            while ((o = peer.server.readOutbound()) != null) {
                outputs.add(o);
            }
            return outputs;
        }
    }

    private static void release(List<Object> outputs) {
        for (Object o : outputs) {
            ((ByteBuf) o).release();
        }
    }
}
