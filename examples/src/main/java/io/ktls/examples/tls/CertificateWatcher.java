package io.ktls.examples.tls;

import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import sun.misc.Signal;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a server's {@link ServerCertificates} current: every {@value ServerCertificates#CHECK_INTERVAL_SECONDS}
 * seconds it reloads the pairs whose files changed, and on SIGHUP it reloads them all (the usual signal to
 * reread configuration; where the JVM cannot take it, only the periodic check runs). A reload builds contexts,
 * which takes milliseconds: it runs on a daemon thread of its own, never on an event loop.
 *
 * <p>Threads: every reload runs on the one watcher thread, so reloads never overlap; the signal handler only
 * queues one.
 */
public final class CertificateWatcher implements AutoCloseable {

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(CertificateWatcher.class);

    private final ScheduledExecutorService thread;

    private CertificateWatcher(ServerCertificates certificates) {
        thread = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("certificate-watcher", true));
        thread.scheduleWithFixedDelay(certificates::reloadIfChanged, ServerCertificates.CHECK_INTERVAL_SECONDS,
                                      ServerCertificates.CHECK_INTERVAL_SECONDS, TimeUnit.SECONDS);
        try {
            Signal.handle(new Signal("HUP"), signal -> {
                if (!thread.isShutdown()) {
                    thread.execute(certificates::reload);
                }
            });
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            logger.debug("no SIGHUP here: certificates are reloaded when their files change only", e);
        }
    }

    /** Starts watching {@code certificates}; {@link #close()} stops. */
    public static CertificateWatcher start(ServerCertificates certificates) {
        return new CertificateWatcher(certificates);
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
