package io.hyperplane.sigv4;

/** The outcome of {@link SigV4Verifier#verify}: who signed the request, or why it was refused. */
public sealed interface Verification {

    /**
     * The request was signed with {@code credential}'s secret for this credential scope. The
     * verifier does not know which service or regions this endpoint serves: the caller checks
     * {@code service} and {@code region} against its own.
     */
    record Authenticated(Credential credential, String region, String service) implements Verification {
        public Authenticated {
            if (credential == null) {
                throw new IllegalArgumentException("credential must not be null");
            }
            if (region == null || region.isEmpty()) {
                throw new IllegalArgumentException("region must not be empty");
            }
            if (service == null || service.isEmpty()) {
                throw new IllegalArgumentException("service must not be empty");
            }
        }
    }

    /** The request was refused; {@code message} is AWS's wording where AWS's is known. */
    record Rejected(Failure failure, String message) implements Verification {
        public Rejected {
            if (failure == null) {
                throw new IllegalArgumentException("failure must not be null");
            }
            if (message == null || message.isEmpty()) {
                throw new IllegalArgumentException(failure + ": message must not be empty");
            }
        }
    }
}
