package io.ktls.handler;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(FallbackEvent.NAME)
@Label("Record Layer Fallback")
@Description("A connection stays on Netty's SslHandler for its whole life instead of the record layer")
final class FallbackEvent extends RecordLayerEvent {
    static final String NAME = "io.ktls.Fallback";

    @Label("Reason")
    public String reason;
}
