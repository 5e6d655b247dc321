package io.hyperplane.config.fleet;

/**
 * The body of every refusal on the fleet's HTTP endpoints, with the status saying which
 * (401 token, 400 request, 404, 504 nodes behind, a Lambda error's own for legacy ENIs).
 *
 * @param errorType Lambda's error type where the refusal is one of Lambda's (legacy ENI
 *                  creation: EC2ThrottledException, say); null otherwise
 */
public record FleetError(String errorType, String message) {
    public FleetError {
        Check.text(message, "fleet error", "message");
        if (errorType != null) {
            Check.text(errorType, "fleet error", "errorType");
        }
    }

    public static FleetError of(String message) {
        return new FleetError(null, message);
    }
}
