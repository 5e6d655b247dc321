package io.hyperplane.control.lambda;

/**
 * A Lambda API error: its type (sent as {@code X-Amzn-ErrorType} and in the JSON body), HTTP
 * status and message. Thrown before anything is written, so a failed call changes nothing.
 */
public final class LambdaError extends RuntimeException {
    private final String type;
    private final int status;

    public LambdaError(String type, int status, String message) {
        super(message);
        this.type = type;
        this.status = status;
    }

    public static LambdaError notFound(String arn) {
        return new LambdaError("ResourceNotFoundException", 404, "Function not found: " + arn);
    }

    public static LambdaError invalid(String message) {
        return new LambdaError("InvalidParameterValueException", 400, message);
    }

    public static LambdaError conflict(String message) {
        return new LambdaError("ResourceConflictException", 409, message);
    }

    /** A request that breaks the API model's constraints, worded as AWS's request validation does. */
    public static LambdaError validation(String value, String member, String constraint) {
        return new LambdaError("ValidationException", 400, "1 validation error detected: Value '" + value + "' at '" + member
                + "' failed to satisfy constraint: " + constraint);
    }

    public String type() {
        return type;
    }

    public int status() {
        return status;
    }
}
