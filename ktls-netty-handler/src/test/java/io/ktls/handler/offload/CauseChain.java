package io.ktls.handler.offload;

/** A failure and its causes: a write fails with a wrapper whose cause names what went wrong. */
final class CauseChain {

    private CauseChain() {
    }

    /** Whether {@code failure} or one of its causes is a {@code type}. */
    static boolean has(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
