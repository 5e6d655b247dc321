package io.hyperplane.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The API benchmark runs and measures real requests; its figures belong in docs, not here. */
class ApiBenchTest {
    @Test
    @Timeout(60)
    void shouldMeasureConcurrentDescribeSubnetsWithoutFailures() throws Exception {
        ApiBench.Result r = new ApiBench(line -> { }).run(4, 3, Duration.ZERO, Duration.ofSeconds(1));

        assertThat(r.requests()).isPositive();
        assertThat(r.failures()).isZero();
        assertThat(r.p99Ms()).isGreaterThanOrEqualTo(r.p50Ms());
    }
}
