package io.ktls.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fails a test when Netty's leak detector reports a leaked buffer while (or shortly after) it ran.
 *
 * <p>Registered for every test through JUnit's extension auto-detection (see
 * {@code junit-platform.properties}); the build runs tests with {@code io.netty.leakDetection.level=paranoid}.
 * Netty logs leak reports through its internal logger, which is {@code java.util.logging} on our test
 * class path, so the extension listens on the detector's logger. Reports only surface when the detector
 * polls its reference queue, which happens on the next tracked allocation: after each test we collect
 * garbage and make a few tracked allocations to flush pending reports into the test that caused them.
 */
public final class LeakReportExtension implements BeforeEachCallback, AfterEachCallback {

    private static final Logger DETECTOR_LOGGER = Logger.getLogger(ResourceLeakDetector.class.getName());
    private static final LeakCollector COLLECTOR = new LeakCollector();

    static {
        DETECTOR_LOGGER.addHandler(COLLECTOR);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        flushPendingReports();
        COLLECTOR.drain();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getTags().contains("leak-expected")) {
            return;
        }
        flushPendingReports();
        List<String> leaks = COLLECTOR.drain();
        if (!leaks.isEmpty()) {
            fail(leaks.size() + " leak report(s) from Netty's leak detector:\n" + String.join("\n\n", leaks));
        }
    }

    /** Drains reports already queued by the detector (exposed for tests that expect a leak). */
    public static List<String> collectReports() {
        flushPendingReports();
        return COLLECTOR.drain();
    }

    private static void flushPendingReports() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            System.runFinalization();
            for (int j = 0; j < 16; j++) {
                // Direct, not heap: Netty's unpooled allocator only tracks (and so only polls the detector's
                // queue on) direct allocations.
                ByteBuf probe = UnpooledByteBufAllocator.DEFAULT.directBuffer(1);
                probe.release();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static final class LeakCollector extends Handler {
        private final List<String> reports = new ArrayList<>();

        @Override
        public synchronized void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.SEVERE.intValue()) {
                String message = record.getMessage();
                if (message != null && message.contains("LEAK")) {
                    reports.add(message);
                }
            }
        }

        synchronized List<String> drain() {
            List<String> copy = new ArrayList<>(reports);
            reports.clear();
            return copy;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
