package io.ktls.handler;

import io.netty.util.concurrent.EventExecutor;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The share of its event loop that one connection's framing may take between two polls of the loop's sockets.
 *
 * <p>Why: a socket write usually completes at once, inside the transport's write loop, and its completion frames
 * the next records; sealed inline, a stream then sealed record after record in one flush task after another
 * without the event loop polling its sockets (Netty runs 64 tasks between looks at the clock), and the other
 * connections of that loop, a new client's handshake among them, waited for seconds. So a connection frames at
 * most so many records per turn, whoever asks (a flush, a write completion); beyond that, framing waits for the
 * next turn. The first record of a turn schedules the next one, a task with no delay: Netty moves due scheduled
 * tasks to its run queue once per pass, after polling the sockets and before running the queue, so the next
 * turn begins after the loop has served its other channels; a connection that frames little never waits for it.
 *
 * <p>Event loop only.
 */
final class FramingTurns {

    private final EventExecutor executor;
    private final int recordsPerTurn;
    /** Frames what the previous turn had to leave. */
    private final Runnable resume;
    private final Runnable begin = this::begin;
    /** Records framed since the current turn began; a turn begins at its first record. */
    private int framedThisTurn;
    /** The next turn is scheduled and has not begun. */
    private boolean scheduled;

    FramingTurns(EventExecutor executor, int recordsPerTurn, Runnable resume) {
        this.executor = executor;
        this.recordsPerTurn = recordsPerTurn;
        this.resume = resume;
    }

    /** This turn has framed its share: what is left waits for {@link #scheduleNext()}'s turn. */
    boolean isUsedUp() {
        return framedThisTurn >= recordsPerTurn;
    }

    /** Counts a framed record; the turn's first schedules the turn's end. */
    void recordFramed() {
        if (framedThisTurn++ == 0) {
            scheduleNext();
        }
    }

    /** The next turn (after the next poll of the sockets) resumes framing. */
    void scheduleNext() {
        if (scheduled) {
            return;
        }
        scheduled = true;
        try {
            executor.schedule(begin, 0, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down and closes the channel: nothing more will be written.
            scheduled = false;
        }
    }

    private void begin() {
        assert executor.inEventLoop();
        scheduled = false;
        framedThisTurn = 0;
        resume.run();
    }
}
