package io.ktls.handler;

import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.internal.tcnative.KeyLogCallback;
import io.netty.internal.tcnative.SSLContext;

import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Delivers BoringSSL's key-log lines (the NSS {@code SSLKEYLOGFILE} format) to the handler of the connection
 * they belong to. This is how the TLS 1.3 traffic secrets leave BoringSSL: tcnative exposes no other way.
 *
 * <p>The one place in the module that reaches into Netty's internals: {@code SSLContext.setKeyLogCallback}
 * takes the tcnative wrapper held in the protected field {@code ReferenceCountedOpenSslContext.ctx}. That is
 * NOT {@code sslCtxPointer()} (the raw {@code SSL_CTX*}); passing the raw pointer crashes the JVM. The field is
 * read by reflection once per context.
 *
 * <p>Threads: BoringSSL calls back on the thread driving the handshake (the channel's event loop), with the
 * {@code SSL*} of the connection; {@link #register} and {@link #unregister} run on that same event loop. The
 * callback is installed once per context (guarded by the monitor of {@link #INSTALLED}); the sinks live in a
 * concurrent map because one context serves channels on many event loops.
 */
final class BoringSslKeyLog {

    /** Receives the key-log lines of one connection. */
    interface Sink {
        /**
         * @param line {@code LABEL <client_random hex> <secret hex>}, ASCII; valid during the call only (zeroed
         *             after it): copy what is needed
         */
        void keyLogLine(byte[] line);
    }

    private static final Map<Long, Sink> SINKS = new ConcurrentHashMap<>();
    private static final Map<ReferenceCountedOpenSslContext, Boolean> INSTALLED =
            Collections.synchronizedMap(new WeakHashMap<>());
    private static final KeyLogCallback DISPATCH = BoringSslKeyLog::dispatch;
    private static final Field CTX_FIELD = ctxField();

    private BoringSslKeyLog() {
    }

    /**
     * Routes the key-log lines of the engine {@code sslPointer} to {@code sink}, installing the context's
     * callback first if needed. Returns false when the context cannot log keys (then stay on SslHandler).
     */
    static boolean register(SslContext context, long sslPointer, Sink sink) {
        if (!(context instanceof ReferenceCountedOpenSslContext) || CTX_FIELD == null || sslPointer == 0) {
            return false;
        }
        ReferenceCountedOpenSslContext openSslContext = (ReferenceCountedOpenSslContext) context;
        synchronized (INSTALLED) {
            if (!INSTALLED.containsKey(openSslContext)) {
                long ctx;
                try {
                    ctx = CTX_FIELD.getLong(openSslContext);
                } catch (IllegalAccessException e) {
                    return false;
                }
                if (ctx == 0 || !SSLContext.setKeyLogCallback(ctx, DISPATCH)) {
                    return false;
                }
                INSTALLED.put(openSslContext, Boolean.TRUE);
            }
        }
        SINKS.put(sslPointer, sink);
        return true;
    }

    /** Stops routing lines of {@code sslPointer}; BoringSSL may reuse the address for a later connection. */
    static void unregister(long sslPointer, Sink sink) {
        SINKS.remove(sslPointer, sink);
    }

    /**
     * Hands one line BoringSSL logged for the connection {@code ssl} to its sink, then zeroes it: the line is a
     * fresh array from tcnative, ours alone, and carries a secret in hex whether or not a sink wanted it (a
     * connection whose handshake ended, or one of the context that is not ours).
     */
    static void dispatch(long ssl, byte[] line) {
        try {
            Sink sink = SINKS.get(ssl);
            if (sink != null) {
                sink.keyLogLine(line);
            }
        } finally {
            Arrays.fill(line, (byte) 0);
        }
    }

    private static Field ctxField() {
        try {
            Field field = ReferenceCountedOpenSslContext.class.getDeclaredField("ctx");
            if (field.getType() != long.class) {
                return null;
            }
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
