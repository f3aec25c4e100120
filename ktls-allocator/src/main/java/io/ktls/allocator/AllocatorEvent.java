package io.ktls.allocator;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;

/**
 * The base of the allocator's Flight Recorder events: disabled by default (enable them in a recording's settings,
 * e.g. {@code jfr configure +io.ktls.SlabReserved#enabled=true}), under the category "ktls-netty", and naming the
 * allocator and arena they come from. Fired through {@link AllocatorEvents}, which builds nothing unless the event
 * is enabled.
 */
@Enabled(false)
@Category({"ktls-netty", "Allocator"})
abstract class AllocatorEvent extends Event {
    @Label("Allocator")
    @Description("The name of the PageRunAllocator")
    public String allocator;

    @Label("Arena")
    @Description("Index of the arena, or -1 for none")
    public int arena;
}
