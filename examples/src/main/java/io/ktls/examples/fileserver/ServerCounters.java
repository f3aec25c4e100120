package io.ktls.examples.fileserver;

import io.ktls.examples.stats.JsonWriter;

import java.util.concurrent.atomic.LongAdder;

/**
 * The file server's own counters, updated by every event loop ({@link LongAdder}: no contention between
 * loops) and read by whichever loop answers {@code /_stats}. Readings are not a consistent snapshot,
 * each counter is exact on its own.
 */
final class ServerCounters {

    final LongAdder connectionsOpen = new LongAdder();
    final LongAdder connectionsAccepted = new LongAdder();
    final LongAdder requests = new LongAdder();
    /** Responses whose last byte has not yet been handed to the socket (or failed). */
    final LongAdder responsesInFlight = new LongAdder();
    /** File body bytes of completed responses. */
    final LongAdder fileBytesSent = new LongAdder();
    final LongAdder responsesFailed = new LongAdder();
    /** Connections closed by {@code --idle-timeout}. */
    final LongAdder connectionsIdleClosed = new LongAdder();

    void write(JsonWriter json) {
        json.field("connectionsOpen", connectionsOpen.sum())
                .field("connectionsAccepted", connectionsAccepted.sum())
                .field("connectionsIdleClosed", connectionsIdleClosed.sum())
                .field("requests", requests.sum())
                .field("responsesInFlight", responsesInFlight.sum())
                .field("responsesFailed", responsesFailed.sum())
                .field("fileBytesSent", fileBytesSent.sum());
    }
}
