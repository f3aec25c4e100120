package io.ktls.allocator;

import io.netty.util.internal.PlatformDependent;

/**
 * Fires the allocator's Flight Recorder events. Each method checks, before it builds anything, that JFR is present
 * ({@code jdk.jfr} may be missing from a trimmed runtime) and the event enabled, so a disabled event costs a
 * branch. The events mark rare transitions (slabs, fallbacks, back-offs, reclaim passes), never an allocation.
 *
 * <p>Threads: stateless, any thread.
 */
final class AllocatorEvents {

    private static final boolean JFR = PlatformDependent.isJfrEnabled();
    private static final SlabReservedEvent SLAB_RESERVED = JFR ? new SlabReservedEvent() : null;
    private static final SlabReleasedEvent SLAB_RELEASED = JFR ? new SlabReleasedEvent() : null;
    private static final RunFallbackEvent RUN_FALLBACK = JFR ? new RunFallbackEvent() : null;
    private static final RunBackOffEvent RUN_BACK_OFF = JFR ? new RunBackOffEvent() : null;
    private static final ReclaimPassEvent RECLAIM_PASS = JFR ? new ReclaimPassEvent() : null;

    private AllocatorEvents() {
    }

    static void slabReserved(String allocator, int arena, long slabBytes, long reservedBytes) {
        if (JFR && SLAB_RESERVED.isEnabled()) {
            commit(new SlabReservedEvent(), allocator, arena, slabBytes, reservedBytes);
        }
    }

    static void slabReleased(String allocator, int arena, long slabBytes, long reservedBytes) {
        if (JFR && SLAB_RELEASED.isEnabled()) {
            commit(new SlabReleasedEvent(), allocator, arena, slabBytes, reservedBytes);
        }
    }

    private static void commit(SlabEvent event, String allocator, int arena, long slabBytes, long reservedBytes) {
        if (event.shouldCommit()) {
            event.allocator = allocator;
            event.arena = arena;
            event.slabBytes = slabBytes;
            event.reservedBytes = reservedBytes;
            event.commit();
        }
    }

    static void runFallback(String allocator, int arena, long requestedBytes, String servedAs) {
        if (JFR && RUN_FALLBACK.isEnabled()) {
            RunFallbackEvent event = new RunFallbackEvent();
            if (event.shouldCommit()) {
                event.allocator = allocator;
                event.arena = arena;
                event.requestedBytes = requestedBytes;
                event.servedAs = servedAs;
                event.commit();
            }
        }
    }

    static void runBackOff(String allocator, int arena, int pages, long intervalNanos) {
        if (JFR && RUN_BACK_OFF.isEnabled()) {
            RunBackOffEvent event = new RunBackOffEvent();
            if (event.shouldCommit()) {
                event.allocator = allocator;
                event.arena = arena;
                event.pages = pages;
                event.intervalNanos = intervalNanos;
                event.commit();
            }
        }
    }

    /** An enabled reclaim-pass event, begun (its duration is the pass's); {@code null} when disabled. */
    static Object beginReclaimPass() {
        if (JFR && RECLAIM_PASS.isEnabled()) {
            ReclaimPassEvent event = new ReclaimPassEvent();
            event.begin();
            return event;
        }
        return null;
    }

    /** Ends what {@link #beginReclaimPass} returned (nothing for {@code null}). */
    static void endReclaimPass(Object begun, String allocator, int arena, long regionsMoved, boolean afterFailure) {
        if (begun != null) {
            ReclaimPassEvent event = (ReclaimPassEvent) begun;
            event.end();
            if (event.shouldCommit()) {
                event.allocator = allocator;
                event.arena = arena;
                event.regionsMoved = regionsMoved;
                event.afterFailure = afterFailure;
                event.commit();
            }
        }
    }
}
