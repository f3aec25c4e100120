package io.ktls.handler.benchmarks;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.List;

/**
 * Reports the benchmark JVM's CPU time per operation ({@code ·cpu.ns/op}) next to the throughput.
 *
 * <p>Why: on a machine shared with other work, wall-clock throughput measures the scheduler as much as the
 * code (scores swing by a factor of ten between iterations); CPU time per operation only counts the cycles
 * this JVM got, so ratios between variants stay meaningful. It counts every thread of the JVM (JIT, GC, JMH's
 * own), which adds a little to every variant alike once warmed up; use it with one benchmark thread.
 * Enable with {@code -prof io.ktls.handler.benchmarks.CpuTimeProfiler}.
 */
public final class CpuTimeProfiler implements InternalProfiler {

    private long cpuNanosAtStart;

    @Override
    public String getDescription() {
        return "process CPU time per operation, robust to other load on the machine";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        cpuNanosAtStart = processCpuNanos();
    }

    @Override
    @SuppressWarnings("rawtypes") // InternalProfiler declares the raw Result type
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams,
                                                       IterationParams iterationParams, IterationResult result) {
        long cpuNanos = processCpuNanos() - cpuNanosAtStart;
        long ops = result.getMetadata().getMeasuredOps();
        double perOp = ops == 0 ? Double.NaN : (double) cpuNanos / ops;
        return List.of(new ScalarResult("cpu.ns/op", perOp, "ns/op", AggregationPolicy.AVG));
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
