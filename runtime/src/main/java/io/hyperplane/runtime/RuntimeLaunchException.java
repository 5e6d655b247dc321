package io.hyperplane.runtime;

/**
 * The function's code cannot be started with its runtime; the worker reports it as the init error
 * {@link #errorType()} (e.g. {@code Runtime.InvalidEntrypoint}, what AWS reports for a missing or
 * non-executable {@code bootstrap}). Problems of the host itself (no fitting JDK) are
 * {@link IllegalStateException}s instead.
 */
public final class RuntimeLaunchException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String errorType;

    public RuntimeLaunchException(String errorType, String message) {
        super(message);
        this.errorType = errorType;
    }

    /** AWS's errorType for this failure. */
    public String errorType() {
        return errorType;
    }
}
