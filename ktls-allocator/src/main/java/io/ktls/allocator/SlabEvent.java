package io.ktls.allocator;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;

/** A slab reserved or released: its size, and what the allocator holds in slabs after it. */
abstract class SlabEvent extends AllocatorEvent {
    @Label("Slab Bytes")
    @DataAmount
    public long slabBytes;

    @Label("Reserved Bytes")
    @Description("Bytes the allocator holds in slabs after this event")
    @DataAmount
    public long reservedBytes;
}
