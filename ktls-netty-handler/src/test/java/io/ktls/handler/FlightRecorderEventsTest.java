package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.ktls.handler.crypto.TlsRecordException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handler's Flight Recorder events, recorded for real around connections that take over, fall back and fail. */
class FlightRecorderEventsTest {

    private static final TlsCipherSuite SUITE = TlsCipherSuite.TLS_AES_128_GCM_SHA256;

    @TempDir
    Path dir;

    @Test
    void takeoverAndABadRecordAreRecordedWithSuiteModeAndCause() throws Exception {
        List<RecordedEvent> events = record(() -> {
            try (TlsTestPeer peer = TlsTestPeer.handshake(SUITE)) {
                ByteBuf record = peer.seal(TlsRecords.APPLICATION_DATA, new byte[100]);
                record.setByte(20, record.getByte(20) ^ 1);
                peer.send(record);
                assertFalse(peer.server.isOpen());
            }
        });
        RecordedEvent takeover = only(events, TakeoverEvent.NAME);
        assertEquals(SUITE.name(), takeover.getString("suite"));
        assertEquals("inline", takeover.getString("mode"));
        assertTrue(takeover.getString("channel").contains("embedded"), takeover.getString("channel"));

        RecordedEvent failed = only(events, ConnectionFailedEvent.NAME);
        assertEquals(SUITE.name(), failed.getString("suite"));
        assertEquals(TlsRecordException.class.getName(), failed.getClass("causeClass").getName());
        assertTrue(failed.getString("message").contains("bad_record_mac"), failed.getString("message"));
        assertEquals(0, count(events, FallbackEvent.NAME));
    }

    @Test
    void aSuiteLeftOutOfTakeoverIsRecordedAsAFallbackWithItsReason() throws Exception {
        List<RecordedEvent> events = record(() -> assertFalse(handshakeOverNio(
                KtlsConfig.builder().takeoverSuites(EnumSet.complementOf(EnumSet.of(SUITE))).build())));
        RecordedEvent fallback = only(events, FallbackEvent.NAME);
        assertTrue(fallback.getString("reason").contains(SUITE.javaName()), fallback.getString("reason"));
        assertEquals(0, count(events, TakeoverEvent.NAME));
        assertEquals(0, count(events, ConnectionFailedEvent.NAME));
    }

    @Test
    void aKernelTlsRefusalIsRecordedWithItsCauseAndTheTakeoverInUserSpace() throws Exception {
        List<RecordedEvent> events = record(() -> assertTrue(handshakeOverNio(
                KtlsConfig.builder().kernelTls(KernelTls.AUTO).stats(new KtlsStats()).build())));
        RecordedEvent refused = only(events, KernelTlsRefusedEvent.NAME);
        assertEquals(KernelTlsRefusal.TRANSPORT.name(), refused.getString("cause"));
        assertTrue(refused.getString("detail").contains("NioSocketChannel"), refused.getString("detail"));
        assertEquals("inline", only(events, TakeoverEvent.NAME).getString("mode"));
        assertEquals(0, count(events, FallbackEvent.NAME));
    }

    @Test
    void aCleanCloseIsNoFailure() throws Exception {
        List<RecordedEvent> events = record(() -> {
            try (TlsTestPeer peer = TlsTestPeer.handshake(SUITE)) {
                peer.server.close().sync();
            }
        });
        assertEquals(1, count(events, TakeoverEvent.NAME));
        assertEquals(0, count(events, ConnectionFailedEvent.NAME));
    }

    /** One handshake with a JDK client over NIO; whether the server's record layer took the connection over. */
    private static boolean handshakeOverNio(KtlsConfig config) throws Exception {
        SslContext serverContext = TestTls.get().server(SUITE);
        SslContext clientContext = TestTls.get().client(SslProvider.JDK, SUITE);
        CompletableFuture<KtlsHandler> handshaken = new CompletableFuture<>();
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                KtlsHandler handler = new KtlsHandler(serverContext, config);
                ch.pipeline().addLast(handler, new OnHandshakeSuccess(ctx -> handshaken.complete(handler)));
            });
            Channel client = loopback.connectTls(clientContext);
            boolean active = handshaken.get(10, TimeUnit.SECONDS).isRecordLayerActive();
            client.close().sync();
            return active;
        }
    }

    interface Scenario {
        void run() throws Exception;
    }

    private List<RecordedEvent> record(Scenario scenario) throws Exception {
        try (Recording recording = new Recording()) {
            recording.enable(TakeoverEvent.NAME);
            recording.enable(FallbackEvent.NAME);
            recording.enable(ConnectionFailedEvent.NAME);
            recording.enable(KernelTlsRefusedEvent.NAME);
            recording.start();
            scenario.run();
            recording.stop();
            Path file = dir.resolve("handler.jfr");
            recording.dump(file);
            return RecordingFile.readAllEvents(file).stream()
                    .filter(e -> e.getEventType().getName().startsWith("io.ktls."))
                    .collect(Collectors.toList());
        }
    }

    private static long count(List<RecordedEvent> events, String name) {
        return events.stream().filter(e -> e.getEventType().getName().equals(name)).count();
    }

    private static RecordedEvent only(List<RecordedEvent> events, String name) {
        List<RecordedEvent> matching = events.stream().filter(e -> e.getEventType().getName().equals(name))
                                             .collect(Collectors.toList());
        assertEquals(1, matching.size(), name + ": " + matching);
        return matching.get(0);
    }
}
