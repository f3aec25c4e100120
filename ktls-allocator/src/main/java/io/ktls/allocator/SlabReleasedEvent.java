package io.ktls.allocator;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(SlabReleasedEvent.NAME)
@Label("Slab Released")
@Description("An arena gave an empty slab back to the JVM (reclaim, or the allocator closing)")
final class SlabReleasedEvent extends SlabEvent {
    static final String NAME = "io.ktls.SlabReleased";
}
