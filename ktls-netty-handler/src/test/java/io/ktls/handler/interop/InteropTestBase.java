package io.ktls.handler.interop;

import io.ktls.allocator.PageRunAllocatorMetric;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs transfers between a peer and the server under test and checks both ends.
 *
 * <p>Each transfer is a dynamic test named after peer, server mode, version and suite, direction and size.
 * Dynamic tests rather than parameterized ones because the leak check that runs after every test method
 * (a few garbage collections) would otherwise cost more than most transfers: here it runs once per
 * factory, that is once per peer and server mode, and still fails that factory on any leaked buffer.
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class InteropTestBase {

    /** How long the server may take to report an exchange after the peer finished. */
    private static final Duration EXCHANGE_TIMEOUT = Duration.ofSeconds(30);

    /** Lets the last connection of a factory finish closing before late failures are collected. */
    private static final long LATE_FAILURE_GRACE_MILLIS = 200;

    InteropFixture fixture;
    private final List<InteropPeer> peers = new ArrayList<>();

    @BeforeAll
    void startFixture() throws Exception {
        fixture = new InteropFixture();
    }

    @AfterAll
    void closeFixture() throws Exception {
        for (InteropPeer peer : peers) {
            peer.close();
        }
        fixture.close();
    }

    /** Registers a peer to be closed with the fixture. */
    <P extends InteropPeer> P peer(P peer) {
        peers.add(peer);
        return peer;
    }

    /** Every suite x every direction (download from buffers and from a file, upload) x the standard sizes. */
    static List<TransferCase> standardMatrix(ServerUnderTest server) {
        return standardMatrix(server, TransferCase.Direction.values());
    }

    static List<TransferCase> standardMatrix(ServerUnderTest server, TransferCase.Direction... directions) {
        return TransferCase.matrix(server, List.of(CipherCase.values()), List.of(directions),
                Payload.STANDARD_SIZES);
    }

    Stream<DynamicTest> transfers(InteropPeer peer, Collection<TransferCase> cases) {
        peer.requireInstalled();
        Stream<DynamicTest> tests = cases.stream().filter(transfer -> peer.supports(transfer.cipher()))
                .map(transfer -> {
                    String name = transfer.describe(peer.name());
                    return DynamicTest.dynamicTest(name, () -> named(name, () -> runTransfer(peer, transfer)));
                });
        Stream<DynamicTest> closing = Stream.of(noLateFailures(peer.name()));
        if (cases.stream().anyMatch(transfer -> transfer.server().usesPageRunAllocator())) {
            closing = Stream.concat(closing, Stream.of(pageRunsReturned(peer.name())));
        }
        return Stream.concat(tests, closing);
    }

    /**
     * A closing check for a factory run on the page-run allocator: once every connection has closed, every
     * run the server allocated (records, reads, application buffers) is back.
     */
    DynamicTest pageRunsReturned(String peer) {
        return DynamicTest.dynamicTest(peer + " | every page run back in the allocator", () -> {
            PageRunAllocatorMetric metric = fixture.pageRunAllocatorIfUsed().metric();
            assertTrue(metric.cacheHitAllocations() + metric.arenaAllocations() > 0,
                    "the server allocated from the page-run allocator");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((metric.inFlightRuns() != 0 || metric.inFlightBytes() != 0) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, metric.inFlightRuns(), () -> "runs in flight (" + metric.inFlightBytes() + " bytes)");
            assertEquals(0, metric.inFlightBytes(), "bytes in flight");
        });
    }

    /**
     * A closing check for a factory's transfers: no connection raised an error after its exchange completed
     * (an exception after a clean close is a bug even when every byte arrived).
     */
    DynamicTest noLateFailures(String peer) {
        return DynamicTest.dynamicTest(peer + " | no server errors after completed exchanges", () -> {
            Thread.sleep(LATE_FAILURE_GRACE_MILLIS);
            List<String> failures = fixture.drainLateFailures();
            assertTrue(failures.isEmpty(), () -> failures.size() + " late failure(s):\n"
                    + String.join("\n", failures));
        });
    }

    /** A transfer step that may throw anything. */
    interface Step {
        void run() throws Exception;
    }

    /**
     * Runs {@code step}, prefixing any failure with the test's name: build reports name dynamic tests by
     * index, and a failure must say by itself which peer, mode, suite, direction and size broke.
     */
    static void named(String name, Step step) throws Exception {
        try {
            step.run();
        } catch (AssertionError e) {
            AssertionError named = new AssertionError(name + ": " + e.getMessage(), e.getCause());
            named.setStackTrace(e.getStackTrace());
            for (Throwable suppressed : e.getSuppressed()) {
                named.addSuppressed(suppressed);
            }
            throw named;
        } catch (Exception e) {
            throw new AssertionError(name + ": " + e, e);
        }
    }

    void runTransfer(InteropPeer peer, TransferCase transfer) throws Exception {
        InteropServer server = fixture.server(transfer.server(), transfer.cipher(), peer.application());
        try {
            peer.transfer(server.port(), transfer);
        } catch (AssertionError | Exception e) {
            // The server's side of a failed transfer usually says why: attach it.
            Exchange exchange = server.pollExchange(Duration.ofMillis(500));
            if (exchange != null) {
                e.addSuppressed(new AssertionError("server side: " + exchange, exchange.failure()));
            }
            throw e;
        }
        assertExchange(server.takeExchange(EXCHANGE_TIMEOUT), transfer, peer.application());
    }

    static void assertExchange(Exchange exchange, TransferCase transfer, InteropServer.Application application) {
        if (exchange.failure() != null) {
            fail("the server failed " + exchange.request(), exchange.failure());
        }
        String expectedRequest = application == InteropServer.Application.HTTP
                ? (transfer.isDownload() ? "GET " : "PUT ") + transfer.httpPath()
                : transfer.rawCommand().trim();
        assertTrue(expectedRequest.equals(exchange.request())
                        || (expectedRequest + "?close").equals(exchange.request()),
                () -> "request the server served: " + exchange.request() + " (expected: " + expectedRequest + ")");
        assertEquals(transfer.cipher().protocol(), exchange.tls().protocol(), "protocol the server negotiated");
        assertEquals(transfer.cipher().javaName(), exchange.tls().cipherSuite(), "suite the server negotiated");
        if (transfer.server().takesOverRecordLayer()) {
            assertTrue(exchange.tls().recordLayerActive(), "the record layer took over from SslHandler");
        }
        assertEquals(transfer.size(), exchange.payloadBytes(), "payload bytes the server sent or received");
        if (!transfer.isDownload()) {
            assertEquals(Payload.sha256Hex(transfer.size()), exchange.receivedSha256(),
                    "SHA-256 of the bytes the server received");
        }
    }
}
