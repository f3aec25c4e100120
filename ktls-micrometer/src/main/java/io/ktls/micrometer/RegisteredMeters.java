package io.ktls.micrometer;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.ArrayList;
import java.util.List;

/**
 * The meters one binder registered, and where, so that its {@code close()} can remove them: a binder of a
 * short-lived object (an offload group that shuts down, an allocator that closes) should not leave meters that
 * read a dead object behind.
 *
 * <p>Threads: {@code bindTo} and {@code close} may run on any thread; the list is guarded by this object's lock,
 * taken only when meters are registered or removed, never when they are read.
 */
final class RegisteredMeters {

    private final List<Registration> registrations = new ArrayList<>();

    /** Remembers {@code meter}, just registered in {@code registry}; returns it. */
    synchronized <M extends Meter> M add(MeterRegistry registry, M meter) {
        registrations.add(new Registration(registry, meter));
        return meter;
    }

    /** Removes every meter added so far from its registry; meters bound later are kept until the next call. */
    synchronized void removeAll() {
        for (Registration r : registrations) {
            r.registry.remove(r.meter);
        }
        registrations.clear();
    }

    private record Registration(MeterRegistry registry, Meter meter) {
    }
}
