package io.hyperplane.control.lambda;

import io.hyperplane.control.lambda.EventRetries.Attempt;
import io.hyperplane.control.lambda.EventRetries.Decision;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Lambda's retry rules for asynchronous invocation, one decision at a time (no store, no clock). */
class EventRetriesTest {
    private static final long ENQUEUED = 1_000_000;
    private static final EventInvokeConfig DEFAULTS = EventInvokeConfig.defaults("111111111111", "f", "$LATEST");
    private static final Attempt FUNCTION_ERROR = new Attempt.FunctionFailed("Unhandled", "{}".getBytes(StandardCharsets.UTF_8));
    private static final Attempt THROTTLED = new Attempt.Throttled("Rate Exceeded.");

    private static EventStore.Event event(int attempts, int functionErrors, int systemFailures) {
        return new EventStore.Event(1, new EventStore.NewEvent("r", "111111111111", "us-east-1", "f", "$LATEST", null, new byte[0]),
                attempts, functionErrors, systemFailures, 1, ENQUEUED, ENQUEUED);
    }

    private static EventInvokeConfig config(int retries, int maxAgeSeconds) {
        return new EventInvokeConfig("111111111111", "f", "$LATEST", retries, maxAgeSeconds, null, null, null);
    }

    @Test
    void shouldRetryAFunctionErrorAfterOneMinuteThenTwo() {
        assertThat(EventRetries.decide(FUNCTION_ERROR, event(0, 0, 0), DEFAULTS, ENQUEUED, 1))
                .isEqualTo(new Decision.Retry(ENQUEUED + 60_000, 1, 1, 0));
        assertThat(EventRetries.decide(FUNCTION_ERROR, event(1, 1, 0), DEFAULTS, ENQUEUED + 60_000, 1))
                .isEqualTo(new Decision.Retry(ENQUEUED + 60_000 + 120_000, 2, 2, 0));
        assertThat(EventRetries.decide(FUNCTION_ERROR, event(2, 2, 0), DEFAULTS, ENQUEUED + 180_000, 1))
                .isEqualTo(new Decision.Dead(EventRetries.RETRIES_EXHAUSTED, 3));
    }

    @Test
    void shouldGiveUpAtOnceWithNoRetryAttempts() {
        assertThat(EventRetries.decide(FUNCTION_ERROR, event(0, 0, 0), config(0, 60), ENQUEUED, 1))
                .isEqualTo(new Decision.Dead(EventRetries.RETRIES_EXHAUSTED, 1));
    }

    @Test
    void shouldNotMakeAFunctionErrorRetryThatWouldComePastTheMaximumAge() {
        // 60 s maximum age: the retry one minute after an attempt 10 s in would come at 70 s.
        assertThat(EventRetries.decide(FUNCTION_ERROR, event(0, 0, 0), config(2, 60), ENQUEUED + 10_000, 1))
                .isEqualTo(new Decision.Dead(EventRetries.EVENT_AGE_EXCEEDED, 1));
    }

    @Test
    void shouldBackOffThrottlesFromOneSecondDoublingUpToFiveMinutesWithoutUsingUpRetries() {
        assertThat(EventRetries.decide(THROTTLED, event(0, 0, 0), DEFAULTS, ENQUEUED, 1)).isEqualTo(new Decision.Retry(ENQUEUED + 1_000, 0, 0, 1));
        assertThat(EventRetries.decide(THROTTLED, event(0, 0, 3), DEFAULTS, ENQUEUED, 1)).isEqualTo(new Decision.Retry(ENQUEUED + 8_000, 0, 0, 4));
        assertThat(EventRetries.decide(THROTTLED, event(0, 2, 40), DEFAULTS, ENQUEUED, 1)).isEqualTo(new Decision.Retry(ENQUEUED + 300_000, 0, 2, 41));
        assertThat(EventRetries.decide(new Attempt.SystemFailed("no worker"), event(0, 0, 1), DEFAULTS, ENQUEUED, 1))
                .isEqualTo(new Decision.Retry(ENQUEUED + 2_000, 0, 0, 2));
    }

    @Test
    void shouldDropAThrottledEventWhoseNextTryWouldBePastTheMaximumAge() {
        assertThat(EventRetries.decide(THROTTLED, event(1, 1, 5), config(2, 60), ENQUEUED + 40_000, 1))
                .isEqualTo(new Decision.Dead(EventRetries.EVENT_AGE_EXCEEDED, 1));
    }

    @Test
    void shouldScaleEveryDelay() {
        assertThat(EventRetries.decide(FUNCTION_ERROR, event(1, 1, 0), DEFAULTS, ENQUEUED, 0.001)).isEqualTo(new Decision.Retry(ENQUEUED + 120, 2, 2, 0));
        assertThat(EventRetries.decide(THROTTLED, event(0, 0, 2), DEFAULTS, ENQUEUED, 0.001)).isEqualTo(new Decision.Retry(ENQUEUED + 4, 0, 0, 3));
    }

    @Test
    void shouldCheckTheAgeBeforeAnAttempt() {
        assertThat(EventRetries.tooOld(event(0, 0, 0), config(2, 60), ENQUEUED + 60_000)).isFalse();
        assertThat(EventRetries.tooOld(event(0, 0, 0), config(2, 60), ENQUEUED + 60_001)).isTrue();
        assertThat(EventRetries.decide(new Attempt.TooOld(), event(2, 1, 3), DEFAULTS, ENQUEUED, 1))
                .isEqualTo(new Decision.Dead(EventRetries.EVENT_AGE_EXCEEDED, 2));
    }

    @Test
    void shouldDropAnEventWhoseFunctionIsGoneWithoutARecord() {
        assertThat(EventRetries.decide(new Attempt.Gone("Function not found"), event(0, 0, 0), DEFAULTS, ENQUEUED, 1))
                .isEqualTo(new Decision.Dead(null, 0));
        assertThat(EventRetries.decide(new Attempt.Succeeded(new byte[0]), event(0, 0, 0), DEFAULTS, ENQUEUED, 1)).isEqualTo(new Decision.Succeeded());
    }
}
