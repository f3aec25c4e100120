package io.ktls.handler;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

@Name(ConnectionFailedEvent.NAME)
@Label("Connection Failed")
@Description("A connection on the record layer ended in error: a bad record, a fatal alert, a truncated stream,"
             + " a failed seal or write")
final class ConnectionFailedEvent extends RecordLayerEvent {
    static final String NAME = "io.ktls.ConnectionFailed";

    @Label("Cipher Suite")
    public String suite;

    @Label("Cause")
    @Description("The class of the exception the connection failed with")
    public Class<?> causeClass;

    @Label("Message")
    public String message;
}
