package io.ktls.examples.stream;

import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;

/**
 * This process's threads, as {@code jstack} shows them (full stacks, held and awaited locks), for the error
 * output when something times out: a timeout alone does not say whether our event loop, the peer or the
 * machine was stuck.
 */
final class ThreadDump {

    private ThreadDump() {
    }

    static String ofThisProcess() {
        StringBuilder out = new StringBuilder("thread dump of pid ").append(ProcessHandle.current().pid())
                .append(":\n");
        for (ThreadInfo thread : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            out.append('"').append(thread.getThreadName()).append("\" #").append(thread.getThreadId())
                    .append(' ').append(thread.getThreadState());
            if (thread.getLockName() != null) {
                out.append(" on ").append(thread.getLockName());
            }
            if (thread.getLockOwnerName() != null) {
                out.append(" owned by \"").append(thread.getLockOwnerName()).append('"');
            }
            out.append('\n');
            StackTraceElement[] stack = thread.getStackTrace();
            for (int i = 0; i < stack.length; i++) {
                out.append("\tat ").append(stack[i]).append('\n');
                for (MonitorInfo monitor : thread.getLockedMonitors()) {
                    if (monitor.getLockedStackDepth() == i) {
                        out.append("\t- locked ").append(monitor).append('\n');
                    }
                }
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** True if {@code t} or one of its causes is a timeout (connect, handshake, an answer that never came). */
    static boolean isTimeout(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getClass().getName().contains("Timeout")) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }
}
