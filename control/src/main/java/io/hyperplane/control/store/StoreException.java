package io.hyperplane.control.store;

/** The store failed (not the caller's input): reported to API clients as an internal error. */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
