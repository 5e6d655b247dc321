package io.hyperplane.metrics;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LatencyRecorderTest {

    @Test
    void shouldReportTheNearestRankOfSmallSamples() {
        LatencyRecorder r = new LatencyRecorder();
        for (long v : new long[] {4, 1, 3, 2}) {
            r.recordNanos(v);
        }
        assertThat(r.percentileNanos(50)).isEqualTo(2);
        assertThat(r.percentileNanos(75)).isEqualTo(3);
        assertThat(r.percentileNanos(99)).isEqualTo(4);
        assertThat(r.percentileNanos(100)).isEqualTo(4);
    }

    @Test
    void shouldStayWithinATenthOfAPercentAboveTheExactRankOfALargeSample() {
        Random random = new Random(7);
        List<Long> values = new ArrayList<>();
        LatencyRecorder r = new LatencyRecorder();
        for (int i = 0; i < 100_000; i++) {
            long v = 1_000 + (long) (random.nextDouble() * random.nextDouble() * 5_000_000_000L); // 1 µs .. 5 s, skewed
            values.add(v);
            r.recordNanos(v);
        }
        values.sort(null);
        for (double p : new double[] {50, 90, 99, 99.9}) {
            long exact = values.get((int) Math.ceil(p / 100 * values.size()) - 1);
            assertThat(r.percentileNanos(p)).as("p%s", p).isBetween(exact, (long) (exact * 1.001) + 1);
        }
        LatencyRecorder.Summary s = r.summary();
        assertThat(s.count()).isEqualTo(100_000);
        assertThat(s.maxNanos()).isBetween(values.getLast(), (long) (values.getLast() * 1.001) + 1);
        assertThat(s.meanNanos()).isCloseTo(values.stream().mapToLong(Long::longValue).average().orElseThrow(),
                within(values.getLast() * 0.001));
    }

    @Test
    void shouldMergePerThreadRecorders() {
        LatencyRecorder all = new LatencyRecorder();
        List<LatencyRecorder> perThread = IntStream.range(0, 4).mapToObj(t -> {
            LatencyRecorder r = new LatencyRecorder();
            for (int i = 1; i <= 25; i++) {
                r.record(Duration.ofMillis(t * 25 + i));
            }
            return r;
        }).toList();
        perThread.forEach(all::add);
        LatencyRecorder.Summary s = all.summary();
        assertThat(s.count()).isEqualTo(100);
        assertThat(s.p50Millis()).isBetween(50.0, 50.05); // the rank's value, rounded up to its bucket (≤ 0.1%)
        assertThat(s.p99Millis()).isBetween(99.0, 99.1);
        assertThat(s.maxMillis()).isBetween(100.0, 100.1);
    }

    @Test
    void shouldConvertMillisecondsAndMicroseconds() {
        LatencyRecorder r = new LatencyRecorder();
        r.recordMillis(2.5);
        LatencyRecorder.Summary s = r.summary();
        assertThat(s.p50Millis()).isEqualTo(2.5);
        assertThat(s.p50Micros()).isCloseTo(2_500, within(2.5));
    }

    @Test
    void shouldReadZerosWhenNothingWasRecorded() {
        LatencyRecorder r = new LatencyRecorder();
        assertThat(r.summary()).isEqualTo(new LatencyRecorder.Summary(0, 0, 0, 0, 0));
        assertThat(r.percentileNanos(99)).isZero();
    }

    @Test
    void shouldRefuseWhatIsNotALatency() {
        LatencyRecorder r = new LatencyRecorder();
        assertThatThrownBy(() -> r.recordNanos(-1)).hasMessageContaining("negative");
        assertThatThrownBy(() -> r.recordMillis(Double.NaN)).hasMessageContaining("NaN");
        assertThatThrownBy(() -> r.percentileNanos(0)).hasMessageContaining("(0, 100]");
        assertThatThrownBy(() -> r.percentileNanos(101)).hasMessageContaining("(0, 100]");
    }
}
