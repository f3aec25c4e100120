package io.ktls.handler;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;

/**
 * The write side's say in the channel's writability: unwritable when the unacknowledged records reach the cap or
 * the queued, unframed bytes reach cap x record size, writable again below half of both; so producers pause for a
 * slow reader and memory stays bounded; unwritable too while the connection waits for the server's
 * {@link RecordMemoryBudget}, so producers pause while the server as a whole holds too much. The gap between the two thresholds keeps a producer from flipping the
 * channel at every record.
 *
 * <p>Event loop only.
 */
final class OutboundWritability {

    /**
     * Bit of {@link ChannelOutboundBuffer#setUserDefinedWritability(int, boolean)} this layer drives; Netty
     * reserves none of 1-31, and codecs that use the mechanism (HTTP/2 flow control) sit above this handler.
     */
    static final int WRITABILITY_INDEX = 27;

    private final Channel channel;
    private final int maxRecordsInFlight;
    private final long maxQueuedBytes;
    private boolean unwritable;

    OutboundWritability(Channel channel, int maxRecordsInFlight, int maxRecordPayloadBytes) {
        this.channel = channel;
        this.maxRecordsInFlight = maxRecordsInFlight;
        this.maxQueuedBytes = (long) maxRecordsInFlight * maxRecordPayloadBytes;
    }

    /**
     * Turns the channel unwritable at either cap or while the connection waits for the server's
     * {@link RecordMemoryBudget}, writable again below half of both caps once it no longer waits.
     */
    void update(int unacknowledgedRecords, long queuedBytes, boolean waitingForBudget) {
        if (!unwritable) {
            if (waitingForBudget || unacknowledgedRecords >= maxRecordsInFlight || queuedBytes >= maxQueuedBytes) {
                set(false);
            }
        } else if (!waitingForBudget && unacknowledgedRecords <= maxRecordsInFlight / 2
                && queuedBytes < maxQueuedBytes / 2) {
            set(true);
        }
    }

    /** Writable whatever the counts: the layer has failed and nothing it holds will wait any more. */
    void release() {
        set(true);
    }

    private void set(boolean writable) {
        if (unwritable == !writable) {
            return;
        }
        unwritable = !writable;
        ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
        if (buffer != null) {
            buffer.setUserDefinedWritability(WRITABILITY_INDEX, writable);
        }
    }
}
