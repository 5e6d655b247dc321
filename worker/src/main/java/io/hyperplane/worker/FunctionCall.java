package io.hyperplane.worker;

import java.util.Objects;

/**
 * One invocation to run: the event and what the runtime is told about it, and the function version
 * it runs in. {@code functionArn} is the ARN the caller used (it may be qualified);
 * {@code clientContext} is null when the caller sent none.
 */
record FunctionCall(String requestId, String functionArn, String clientContext, byte[] payload, FunctionConfig function) {
    FunctionCall {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(functionArn, "functionArn");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(function, "function");
    }
}
