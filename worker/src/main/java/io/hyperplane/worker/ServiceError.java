package io.hyperplane.worker;

/**
 * A cold start that failed the way Lambda reports as a service error, not the function's: no live
 * forwarder node, or a legacy ENI the control plane refused. Carries Lambda's error type and HTTP
 * status, which the control plane returns to the caller of Invoke.
 */
final class ServiceError extends Exception {
    private final String errorType;
    private final int status;

    ServiceError(String errorType, int status, String message) {
        super(message);
        if (errorType == null || errorType.isBlank()) {
            throw new IllegalArgumentException("a service error needs Lambda's error type");
        }
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("service error " + errorType + ": " + status + " is no HTTP status");
        }
        this.errorType = errorType;
        this.status = status;
    }

    String errorType() {
        return errorType;
    }

    int status() {
        return status;
    }
}
