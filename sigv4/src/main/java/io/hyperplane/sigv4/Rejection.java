package io.hyperplane.sigv4;

/**
 * Carries a {@link Verification.Rejected} out of a parsing helper to {@link SigV4Verifier#verify},
 * which turns it back into a return value. Never escapes the package. No stack trace: a flood of
 * garbage requests should cost parsing, not stack walks.
 */
final class Rejection extends Exception {
    private final transient Verification.Rejected rejected;

    Rejection(Failure failure, String message) {
        super(message, null, false, false);
        this.rejected = new Verification.Rejected(failure, message);
    }

    Verification.Rejected rejected() {
        return rejected;
    }
}
