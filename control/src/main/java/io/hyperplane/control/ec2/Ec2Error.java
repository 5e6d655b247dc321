package io.hyperplane.control.ec2;

/**
 * An EC2 API error: its code (as in the EC2 API reference, "Error codes"), message and HTTP status.
 * Thrown before anything is written, so a failed call changes nothing.
 */
public final class Ec2Error extends RuntimeException {
    private final String code;
    private final int status;

    public Ec2Error(String code, String message, int status) {
        super(message);
        this.code = code;
        this.status = status;
    }

    public static Ec2Error client(String code, String message) {
        return new Ec2Error(code, message, 400);
    }

    public static Ec2Error missing(String parameter) {
        return client("MissingParameter", "The request must contain the parameter " + parameter);
    }

    public static Ec2Error invalidValue(String parameter, String value, String why) {
        return client("InvalidParameterValue", "Value (" + value + ") for parameter " + parameter + " is invalid. " + why);
    }

    public String code() {
        return code;
    }

    public int status() {
        return status;
    }
}
