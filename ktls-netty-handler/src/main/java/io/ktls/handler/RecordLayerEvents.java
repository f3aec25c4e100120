package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.channel.Channel;
import io.netty.util.internal.PlatformDependent;

/**
 * Fires the handler's Flight Recorder events. Each method checks, before it builds anything, that JFR is present
 * ({@code jdk.jfr} may be missing from a trimmed runtime) and the event enabled. An exception's message names what
 * went wrong with a record, never key material (none of ours carries any).
 *
 * <p>Threads: stateless; called on the connection's event loop.
 */
final class RecordLayerEvents {

    private static final boolean JFR = PlatformDependent.isJfrEnabled();
    private static final TakeoverEvent TAKEOVER = JFR ? new TakeoverEvent() : null;
    private static final FallbackEvent FALLBACK = JFR ? new FallbackEvent() : null;
    private static final KernelTlsRefusedEvent KERNEL_REFUSED = JFR ? new KernelTlsRefusedEvent() : null;
    private static final ConnectionFailedEvent CONNECTION_FAILED = JFR ? new ConnectionFailedEvent() : null;

    private RecordLayerEvents() {
    }

    static void takeover(Channel channel, TlsCipherSuite suite, String mode) {
        if (JFR && TAKEOVER.isEnabled()) {
            TakeoverEvent event = new TakeoverEvent();
            if (event.shouldCommit()) {
                event.channel = channel.toString();
                event.suite = suite.name();
                event.mode = mode;
                event.commit();
            }
        }
    }

    static void kernelTlsRefused(Channel channel, KernelTlsRefusal cause, String detail) {
        if (JFR && KERNEL_REFUSED.isEnabled()) {
            KernelTlsRefusedEvent event = new KernelTlsRefusedEvent();
            if (event.shouldCommit()) {
                event.channel = channel.toString();
                event.cause = cause.name();
                event.detail = detail;
                event.commit();
            }
        }
    }

    static void fallback(Channel channel, String reason) {
        if (JFR && FALLBACK.isEnabled()) {
            FallbackEvent event = new FallbackEvent();
            if (event.shouldCommit()) {
                event.channel = channel.toString();
                event.reason = reason;
                event.commit();
            }
        }
    }

    static void connectionFailed(Channel channel, TlsCipherSuite suite, Throwable cause) {
        if (JFR && CONNECTION_FAILED.isEnabled()) {
            ConnectionFailedEvent event = new ConnectionFailedEvent();
            if (event.shouldCommit()) {
                event.channel = channel.toString();
                event.suite = suite != null ? suite.name() : null;
                event.causeClass = cause.getClass();
                event.message = cause.getMessage();
                event.commit();
            }
        }
    }
}
