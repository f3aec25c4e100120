package io.ktls.allocator;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(SlabReservedEvent.NAME)
@Label("Slab Reserved")
@Description("An arena reserved a slab of direct memory from the JVM, within the allocator's limit")
final class SlabReservedEvent extends AllocatorEvent {
    static final String NAME = "io.ktls.SlabReserved";

    @Label("Slab Bytes")
    @DataAmount
    public long slabBytes;

    @Label("Reserved Bytes")
    @Description("Bytes the allocator holds in slabs after this one")
    @DataAmount
    public long reservedBytes;
}
