package io.ktls.examples.stream;

import java.lang.management.ManagementFactory;

/** CPU time of this whole process (every thread, GC and JIT included), as the kernel accounts it. */
final class ProcessCpu {

    private ProcessCpu() {
    }

    static long nanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return -1;
    }
}
