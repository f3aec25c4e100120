package io.ktls.allocator;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** The event's duration is the pass's. */
@Name(ReclaimPassEvent.NAME)
@Label("Reclaim Pass")
@Description("One pass of an arena's reclaim thread: idle cached runs and depots returned, empty slabs released")
final class ReclaimPassEvent extends AllocatorEvent {
    static final String NAME = "io.ktls.ReclaimPass";

    @Label("Regions Moved")
    @Description("Cached runs, depot entries and slabs given back by the pass")
    public long regionsMoved;

    @Label("After Failure")
    @Description("Woken by a failed allocation rather than by its timer")
    public boolean afterFailure;
}
