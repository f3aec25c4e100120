package io.ktls.handler;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.concurrent.TimeUnit;

/**
 * A {@link KtlsOffloadGroup} shared by the tests of one class: started before the first, shut down gracefully
 * (within 10 s) after the last. Register it on a static field with
 * {@link org.junit.jupiter.api.extension.RegisterExtension}.
 */
final class SharedOffloadGroup implements BeforeAllCallback, AfterAllCallback {

    private final int workers;
    private KtlsOffloadGroup group;

    SharedOffloadGroup(int workers) {
        this.workers = workers;
    }

    /** The group; only between the class's first and last test. */
    KtlsOffloadGroup get() {
        return group;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        group = new KtlsOffloadGroup(workers);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        group.shutdownGracefully().get(10, TimeUnit.SECONDS);
    }
}
