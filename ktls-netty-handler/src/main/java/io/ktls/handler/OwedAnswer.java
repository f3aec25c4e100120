package io.ktls.handler;

/**
 * One kind of answer the write side owes the peer (a KeyUpdate for its update_requested, a no_renegotiation
 * warning for a HelloRequest): requested, then framed ahead of queued data when a slot under the cap is free,
 * then written. A request that arrives while the answer is owed, or framed and not yet written, is covered by it
 * (RFC 8446 section 4.6.3 allows one KeyUpdate for many), so a peer that sends requests and stops reading costs
 * at most one record of each kind.
 *
 * <p>Event loop only.
 */
final class OwedAnswer {

    private boolean owed;
    /** The framed answer until its write completes. */
    private OutboundRecord unwritten;

    /** Asks for an answer; false when one owed or unwritten already covers this request. */
    boolean request() {
        if (owed || unwritten != null) {
            return false;
        }
        owed = true;
        return true;
    }

    /** An answer is owed and not framed yet. */
    boolean isOwed() {
        return owed;
    }

    /** True (once) when an answer is owed: the caller frames it now. */
    boolean take() {
        boolean wasOwed = owed;
        owed = false;
        return wasOwed;
    }

    /** The answer taken by {@link #take()} was framed as {@code record} (null: nothing went out). */
    void framed(OutboundRecord record) {
        unwritten = record;
    }

    /** {@code record} was written: if it was the answer, the next request gets an answer of its own. */
    void written(OutboundRecord record) {
        if (record == unwritten) {
            unwritten = null;
        }
    }
}
