package io.hyperplane.runtime;

/** What {@link RuntimeApiServer#awaitInit} saw: the end of the runtime's init phase, or not. */
public sealed interface InitOutcome {

    /** The runtime called {@code /runtime/invocation/next} for the first time: init is done. */
    record Ready() implements InitOutcome {
    }

    /**
     * The runtime posted {@code /runtime/init/error}. {@code errorType} comes from the body's errorType,
     * else the {@code Lambda-Runtime-Function-Error-Type} header, else {@code Runtime.Unknown}.
     */
    record InitError(String errorType, String errorMessage, byte[] rawBody) implements InitOutcome {
    }

    /** Neither happened within the timeout (or the server was closed first). */
    record TimedOut() implements InitOutcome {
    }
}
