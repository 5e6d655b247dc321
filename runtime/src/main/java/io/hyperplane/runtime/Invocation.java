package io.hyperplane.runtime;

import java.util.Objects;

/**
 * One event handed to the runtime through {@code GET /2018-06-01/runtime/invocation/next}. Each
 * field becomes the response body or one of the {@code Lambda-Runtime-*} headers AWS sends.
 *
 * @param requestId          {@code Lambda-Runtime-Aws-Request-Id}; the id the runtime answers under
 * @param payload            the event, sent as the body
 * @param deadlineEpochMillis {@code Lambda-Runtime-Deadline-Ms}: when the function times out, epoch ms
 * @param invokedFunctionArn {@code Lambda-Runtime-Invoked-Function-Arn}: the ARN the caller used (may be qualified)
 * @param traceId            {@code Lambda-Runtime-Trace-Id}: the X-Ray header, {@code Root=...;Parent=...;Sampled=...}
 * @param clientContext      {@code Lambda-Runtime-Client-Context}, or null when the caller sent none
 * @param cognitoIdentity    {@code Lambda-Runtime-Cognito-Identity}, or null when the caller sent none
 */
public record Invocation(String requestId, byte[] payload, long deadlineEpochMillis, String invokedFunctionArn,
                         String traceId, String clientContext, String cognitoIdentity) {

    public Invocation {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(invokedFunctionArn, "invokedFunctionArn");
        Objects.requireNonNull(traceId, "traceId");
        // The id travels in the URL path of /response and /error: a '/' would make it unroutable.
        if (requestId.isEmpty() || requestId.indexOf('/') >= 0 || requestId.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("requestId '" + requestId + "': must be non-empty without '/' or whitespace");
        }
        if (deadlineEpochMillis <= 0) {
            throw new IllegalArgumentException("deadlineEpochMillis " + deadlineEpochMillis + ": must be epoch milliseconds > 0");
        }
    }
}
