package io.ktls.allocator;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(RunFallbackEvent.NAME)
@Label("Run Fallback")
@Description("A request found no contiguous run: it was served another way, or refused")
final class RunFallbackEvent extends AllocatorEvent {
    static final String NAME = "io.ktls.RunFallback";

    @Label("Requested Bytes")
    @DataAmount
    public long requestedBytes;

    @Label("Served As")
    @Description("single-pages (a composite of pages), unpooled (memory beyond the limit's pool) or refused")
    public String servedAs;
}
