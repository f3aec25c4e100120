package io.ktls.handler;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(KernelTlsRefusedEvent.NAME)
@Label("Kernel TLS Refused")
@Description("A connection that asked for Linux kernel TLS stays on the user-space record layer")
final class KernelTlsRefusedEvent extends RecordLayerEvent {
    static final String NAME = "io.ktls.KernelTlsRefused";

    @Label("Cause")
    @Description("TRANSPORT, NO_TLS_MODULE, SUITE, PENDING_WRITES or ERROR (KernelTlsRefusal)")
    public String cause;

    @Label("Detail")
    @Description("The failed call and the kernel's error")
    public String detail;
}
