package io.hyperplane.control.lambda;

import java.time.Duration;

/**
 * What becomes of an asynchronous invocation after an attempt: Lambda's rules in one place (AWS
 * Lambda developer guide, "How Lambda handles errors and retries with asynchronous invocation").
 * Every delay is multiplied by {@code scale} (1 in service; tests shrink minutes to milliseconds).
 */
final class EventRetries {
    /** A function error is retried after about 1 minute, then 2: the n-th retry waits n minutes. */
    static final Duration FUNCTION_ERROR_STEP = Duration.ofMinutes(1);
    /** Throttles and system errors back off exponentially from 1 second... */
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    /** ...up to 5 minutes between attempts. */
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

    /** Conditions of Lambda's invocation record. */
    static final String SUCCESS = "Success";
    static final String RETRIES_EXHAUSTED = "RetriesExhausted";
    static final String EVENT_AGE_EXCEEDED = "EventAgeExceeded";

    private EventRetries() {
    }

    /** How one attempt went. {@code response}: what the function answered (its error document on a function error). */
    sealed interface Attempt {
        record Succeeded(byte[] response) implements Attempt {
        }

        record FunctionFailed(String functionError, byte[] response) implements Attempt {
        }

        /** Not run: the function's or the account's concurrency is in use (429). */
        record Throttled(String message) implements Attempt {
        }

        /** Not run, or not known to have run: no worker, the worker unreachable, a service error. */
        record SystemFailed(String message) implements Attempt {
        }

        /** The function or the version is deleted: nothing can run the event. */
        record Gone(String message) implements Attempt {
        }

        /** Not tried: the event was past its maximum age when its turn came. */
        record TooOld() implements Attempt {
        }
    }

    /** The event's next step. */
    sealed interface Decision {
        /** Ended well: OnSuccess gets the record. */
        record Succeeded() implements Decision {
        }

        /** Queued again, due at {@code dueAt}, with its counts after this attempt. */
        record Retry(long dueAt, int attempts, int functionErrors, int systemFailures) implements Decision {
        }

        /** Given up: OnFailure gets the record with {@code condition}, unless it is null (nothing left to send it for). */
        record Dead(String condition, int attempts) implements Decision {
        }
    }

    /** True when the event is past its maximum age at {@code now}: Lambda discards it instead of trying (checked before every attempt). */
    static boolean tooOld(EventStore.Event e, EventInvokeConfig config, long now) {
        return now > e.enqueuedAt() + config.maximumEventAgeInSeconds() * 1000L;
    }

    static Decision decide(Attempt attempt, EventStore.Event e, EventInvokeConfig config, long now, double scale) {
        long deadline = e.enqueuedAt() + config.maximumEventAgeInSeconds() * 1000L;
        return switch (attempt) {
            case Attempt.Succeeded s -> new Decision.Succeeded();
            // Deleted under its queued events: there is nothing to retry, and its configuration went with it.
            case Attempt.Gone g -> new Decision.Dead(null, e.attempts());
            case Attempt.TooOld t -> new Decision.Dead(EVENT_AGE_EXCEEDED, e.attempts());
            case Attempt.FunctionFailed f -> {
                int errors = e.functionErrors() + 1;
                // MaximumRetryAttempts is read now, so an update applies to events already queued.
                if (errors > config.maximumRetryAttempts()) {
                    yield new Decision.Dead(RETRIES_EXHAUSTED, e.attempts() + 1);
                }
                long due = now + scaled(FUNCTION_ERROR_STEP.multipliedBy(errors), scale);
                // A retry that would come after the event's maximum age is not made: the event is discarded now.
                yield due > deadline ? new Decision.Dead(EVENT_AGE_EXCEEDED, e.attempts() + 1)
                        : new Decision.Retry(due, e.attempts() + 1, errors, e.systemFailures());
            }
            // Throttles and system errors do not use up MaximumRetryAttempts: retried with backoff until the maximum age.
            case Attempt.Throttled t -> backoff(e, now, deadline, scale);
            case Attempt.SystemFailed s -> backoff(e, now, deadline, scale);
        };
    }

    private static Decision backoff(EventStore.Event e, long now, long deadline, double scale) {
        int failures = e.systemFailures() + 1;
        Duration delay = FIRST_BACKOFF.multipliedBy(1L << Math.min(failures - 1, 20));
        long due = now + scaled(delay.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : delay, scale);
        return due > deadline ? new Decision.Dead(EVENT_AGE_EXCEEDED, e.attempts())
                : new Decision.Retry(due, e.attempts(), e.functionErrors(), failures);
    }

    static long scaled(Duration delay, double scale) {
        return Math.round(delay.toMillis() * scale);
    }
}
