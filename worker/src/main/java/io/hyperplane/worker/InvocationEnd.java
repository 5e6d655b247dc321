package io.hyperplane.worker;

import java.util.Objects;

/**
 * How one invocation ended, as the worker's parts see it; {@link WorkerWire} maps it to the fleet's
 * {@link io.hyperplane.config.fleet.InvokeResult}, which the control plane reads.
 */
sealed interface InvocationEnd {

    /**
     * The function ran: its response, or its error ({@code functionError}: Lambda's "Unhandled", which
     * includes a timeout and the runtime's exit), with the log tail of the invocation.
     */
    record Completed(boolean functionError, byte[] payload, String log) implements InvocationEnd {
        public Completed {
            Objects.requireNonNull(payload, "payload");
            Objects.requireNonNull(log, "log");
        }
    }

    /** The runtime failed to initialise: a function error of the cold start, with the runtime's error JSON and init's log. */
    record InitFailed(byte[] payload, String log) implements InvocationEnd {
        public InitFailed {
            Objects.requireNonNull(payload, "payload");
            Objects.requireNonNull(log, "log");
        }
    }

    /** No environment could run it: Lambda's error type, HTTP status and message for the caller. */
    record Failed(String errorType, int status, String message) implements InvocationEnd {
        public Failed {
            Objects.requireNonNull(errorType, "errorType");
        }
    }
}
