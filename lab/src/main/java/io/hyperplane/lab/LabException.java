package io.hyperplane.lab;

/** A lab operation failed; the message is meant for the person at the terminal, on one or a few lines. */
public final class LabException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LabException(String message) {
        super(message);
    }

    public LabException(String message, Throwable cause) {
        super(message, cause);
    }
}
