package io.ktls.handler.offload;

import java.util.concurrent.CountDownLatch;

/** Waits that an interrupt does not cut short: a task holding a worker must hold it until the test lets go. */
final class Uninterruptibly {

    private Uninterruptibly() {
    }

    /** Waits for {@code latch}, then restores the interrupt flag if an interrupt came meanwhile. */
    static void await(CountDownLatch latch) {
        boolean interrupted = false;
        for (;;) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
