package io.hyperplane.metrics;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.SynchronizedHistogram;

import java.time.Duration;

/**
 * Latencies recorded from any thread and read as percentiles: the one way this project turns
 * samples into the p50 and p99 it publishes (benches, the demo, the worker's metrics).
 *
 * <p><b>Percentile definition (nearest rank).</b> The p-th percentile of n recorded values is the
 * value of rank ⌈p/100 · n⌉ in ascending order: the smallest recorded value that at least p% of
 * the values do not exceed. p50 of {1, 2, 3, 4} is 2; p99 of 100 values is the 99th. Values are
 * kept in an HdrHistogram with {@value #SIGNIFICANT_DIGITS} significant digits, so a reported value
 * is that rank's value rounded up to its bucket: at most 0.1% above it, never below. The maximum
 * and the mean are computed the same way from the same buckets.
 *
 * <p>Memory is bounded by the range of values, not their number (a few tens of KB for nanoseconds up
 * to an hour), so a recorder can run for the life of a process. Recording takes a lock: fine for
 * requests and cold starts, not for a per-packet path.
 */
public final class LatencyRecorder {
    /** Three digits: 0.1% resolution, the precision our noisiest figures can carry and far finer than a shared machine's noise. */
    static final int SIGNIFICANT_DIGITS = 3;

    private final Histogram histogram = new SynchronizedHistogram(SIGNIFICANT_DIGITS); // auto-resizing

    /** Records one latency. */
    public void record(Duration latency) {
        recordNanos(latency.toNanos());
    }

    /** Records one latency in nanoseconds; a negative one is a caller's clock bug and is refused. */
    public void recordNanos(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("a latency cannot be negative: " + nanos + " ns");
        }
        histogram.recordValue(nanos);
    }

    /** Records one latency in milliseconds (a NaN is refused: a missing sample is not a latency). */
    public void recordMillis(double millis) {
        if (Double.isNaN(millis)) {
            throw new IllegalArgumentException("a latency cannot be NaN");
        }
        recordNanos(Math.round(millis * 1e6));
    }

    /** Adds every value recorded by {@code other} (per-thread recorders merged after a run). */
    public void add(LatencyRecorder other) {
        histogram.add(other.histogram.copy());
    }

    public long count() {
        return histogram.getTotalCount();
    }

    /** The p-th percentile (0 < p ≤ 100) in nanoseconds, by the definition above; 0 when nothing was recorded. */
    public long percentileNanos(double p) {
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("a percentile is in (0, 100]: " + p);
        }
        return histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(p);
    }

    /** Count, p50, p99, max and mean, read together. */
    public Summary summary() {
        Histogram h = histogram.copy(); // one consistent view while other threads keep recording
        if (h.getTotalCount() == 0) {
            return new Summary(0, 0, 0, 0, 0);
        }
        return new Summary(h.getTotalCount(), h.getValueAtPercentile(50), h.getValueAtPercentile(99),
                h.getMaxValue(), h.getMean());
    }

    /** A reading of a recorder; values in nanoseconds, with millisecond and microsecond views. */
    public record Summary(long count, long p50Nanos, long p99Nanos, long maxNanos, double meanNanos) {
        public Summary {
            if (count < 0 || p50Nanos < 0 || p99Nanos < p50Nanos || maxNanos < p99Nanos) {
                throw new IllegalArgumentException("not a reading of a recorder: count " + count + ", p50 " + p50Nanos
                        + ", p99 " + p99Nanos + ", max " + maxNanos);
            }
        }

        public double p50Millis() {
            return millis(p50Nanos);
        }

        public double p99Millis() {
            return millis(p99Nanos);
        }

        public double maxMillis() {
            return millis(maxNanos);
        }

        public double p50Micros() {
            return p50Nanos / 1e3;
        }

        public double p99Micros() {
            return p99Nanos / 1e3;
        }

        public double meanMicros() {
            return meanNanos / 1e3;
        }

        /** Milliseconds to two decimals, as every table and JSON figure of ours prints them. */
        private static double millis(long nanos) {
            return Math.round(nanos / 1e4) / 100.0;
        }
    }
}
