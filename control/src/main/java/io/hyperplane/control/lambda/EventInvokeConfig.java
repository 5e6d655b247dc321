package io.hyperplane.control.lambda;

import java.time.Instant;

/**
 * A function's asynchronous invocation settings for one qualifier ($LATEST or a version), as
 * PutFunctionEventInvokeConfig sets them: how often a function error is retried, how old an event
 * may grow before it is given up, and where its outcome goes (a Lambda function's ARN, or null).
 */
public record EventInvokeConfig(String account, String function, String qualifier, int maximumRetryAttempts,
                                int maximumEventAgeInSeconds, String onSuccess, String onFailure, Instant lastModified) {
    /** Lambda's defaults when a function has no configuration. */
    public static final int DEFAULT_RETRY_ATTEMPTS = 2;
    public static final int DEFAULT_EVENT_AGE_SECONDS = 6 * 60 * 60;
    /** Lambda's bounds. */
    public static final int MAX_RETRY_ATTEMPTS = 2;
    public static final int MIN_EVENT_AGE_SECONDS = 60;
    public static final int MAX_EVENT_AGE_SECONDS = 6 * 60 * 60;

    public EventInvokeConfig {
        if (maximumRetryAttempts < 0 || maximumRetryAttempts > MAX_RETRY_ATTEMPTS) {
            throw new IllegalArgumentException("maximumRetryAttempts " + maximumRetryAttempts + " is outside 0.." + MAX_RETRY_ATTEMPTS);
        }
        if (maximumEventAgeInSeconds < MIN_EVENT_AGE_SECONDS || maximumEventAgeInSeconds > MAX_EVENT_AGE_SECONDS) {
            throw new IllegalArgumentException("maximumEventAgeInSeconds " + maximumEventAgeInSeconds + " is outside "
                    + MIN_EVENT_AGE_SECONDS + ".." + MAX_EVENT_AGE_SECONDS);
        }
    }

    /** What a function without a configuration gets. */
    public static EventInvokeConfig defaults(String account, String function, String qualifier) {
        return new EventInvokeConfig(account, function, qualifier, DEFAULT_RETRY_ATTEMPTS, DEFAULT_EVENT_AGE_SECONDS, null, null, null);
    }
}
