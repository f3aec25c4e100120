package io.ktls.allocator;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(SlabReleasedEvent.NAME)
@Label("Slab Released")
@Description("An arena gave an empty slab back to the JVM (reclaim, or the allocator closing)")
final class SlabReleasedEvent extends AllocatorEvent {
    static final String NAME = "io.ktls.SlabReleased";

    @Label("Slab Bytes")
    @DataAmount
    public long slabBytes;

    @Label("Reserved Bytes")
    @Description("Bytes the allocator holds in slabs after this one went")
    @DataAmount
    public long reservedBytes;
}
