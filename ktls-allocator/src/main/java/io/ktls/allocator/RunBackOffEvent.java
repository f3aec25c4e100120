package io.ktls.allocator;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

@Name(RunBackOffEvent.NAME)
@Label("Run Back-off")
@Description("A search for a run failed: the arena stops searching for runs of this size and larger for a while")
final class RunBackOffEvent extends AllocatorEvent {
    static final String NAME = "io.ktls.RunBackOff";

    @Label("Pages")
    @Description("The run size, in 4 KiB pages, that could not be found")
    public int pages;

    @Label("Interval")
    @Timespan(Timespan.NANOSECONDS)
    public long intervalNanos;
}
