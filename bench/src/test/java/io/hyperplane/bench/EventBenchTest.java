package io.hyperplane.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The events benchmark pushes real Event invocations through the queue to its stub worker; its figures belong in docs, not here. */
class EventBenchTest {
    @Test
    @Timeout(120)
    void shouldHandEveryAcceptedEventToTheStubWorkerOnH2() throws Exception {
        EventBench.Settings settings = new EventBench.Settings(List.of(EventBench.Store.H2), 2, Duration.ZERO, Duration.ofSeconds(1),
                Duration.ofSeconds(60), Path.of("unused-without-postgresql"));

        EventBench.Result r = new EventBench(line -> { }).run(settings).getFirst();

        assertThat(r.accepted()).isPositive();
        assertThat(r.refused()).isZero();
        assertThat(r.completed()).isPositive();
        assertThat(r.drainSeconds()).as("the backlog drained").isNotNegative();
    }
}
