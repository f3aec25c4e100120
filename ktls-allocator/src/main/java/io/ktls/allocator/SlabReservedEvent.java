package io.ktls.allocator;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(SlabReservedEvent.NAME)
@Label("Slab Reserved")
@Description("An arena reserved a slab of direct memory from the JVM, within the allocator's limit")
final class SlabReservedEvent extends SlabEvent {
    static final String NAME = "io.ktls.SlabReserved";
}
