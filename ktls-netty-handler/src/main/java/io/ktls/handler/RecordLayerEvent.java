package io.ktls.handler;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;

/**
 * The base of the handler's Flight Recorder events: disabled by default, under the category "ktls-netty", naming
 * the connection's channel. Fired through {@link RecordLayerEvents}, which builds nothing unless the event is
 * enabled. Once per connection at most, never per record.
 */
@Enabled(false)
@Category({"ktls-netty", "Record Layer"})
abstract class RecordLayerEvent extends Event {
    @Label("Channel")
    @Description("The channel's id and addresses, as Netty prints them")
    public String channel;
}
