package io.ktls.handler;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(TakeoverEvent.NAME)
@Label("Record Layer Takeover")
@Description("A handshake completed in BoringSSL and the record layer took the connection over with its keys")
final class TakeoverEvent extends RecordLayerEvent {
    static final String NAME = "io.ktls.Takeover";

    @Label("Cipher Suite")
    public String suite;

    @Label("Mode")
    @Description("inline (sealing on the event loop), offload (on an offload worker) or kernel (Linux kernel TLS)")
    public String mode;
}
