package io.hyperplane.runtime;

/** How the runtime finished an invocation: a response, or an error it (or the Runtime API) reported. */
public sealed interface InvocationOutcome {

    /** The runtime posted {@code /response}; {@code payload} is its body, at most {@link RuntimeApiServer#MAX_PAYLOAD_BYTES}. */
    record Success(byte[] payload) implements InvocationOutcome {
    }

    /**
     * The invocation failed inside the function. {@code body} is the error JSON as the caller of Invoke
     * sees it ({@code {"errorMessage","errorType","stackTrace"}}); {@code errorType} is its errorType
     * (or the {@code Lambda-Runtime-Function-Error-Type} header when the body has none), e.g. a Python
     * exception class name, {@code Runtime.HandlerNotFound} or {@code Function.ResponseSizeTooLarge}.
     */
    record FunctionError(String errorType, byte[] body) implements InvocationOutcome {
    }
}
