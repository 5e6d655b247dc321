package io.hyperplane.worker;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.util.Objects;

/**
 * The runtime failed to initialise (an init error it reported, an init timeout, an exit, or a
 * runtime that cannot be launched at all): Lambda reports it as the invocation's function error,
 * with {@code body} as the payload and {@code log} (the runtime's output) in the log tail.
 */
final class InitFailedException extends Exception {
    private final String errorType;
    private final String body;
    private final String log;

    InitFailedException(String errorType, String message, String body, String log) {
        super(message);
        this.errorType = Objects.requireNonNull(errorType, "errorType");
        this.body = Objects.requireNonNull(body, "body");
        this.log = Objects.requireNonNull(log, "log");
    }

    /** An init failure whose body is Lambda's error JSON for {@code errorType} and {@code message}. */
    static InitFailedException of(String errorType, String message, String bodyMessage, String log) {
        return new InitFailedException(errorType, message, errorJson(errorType, bodyMessage), log);
    }

    String errorType() {
        return errorType;
    }

    String body() {
        return body;
    }

    String log() {
        return log;
    }

    /** Lambda's error JSON, {@code {"errorMessage":...,"errorType":...}}, as the caller of Invoke sees it. */
    static String errorJson(String type, String message) {
        return JsonNodeFactory.instance.objectNode().put("errorMessage", message).put("errorType", type).toString();
    }
}
