package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A worker's answer to an {@link InvokeRequest} (HTTP 200), told apart by {@code "outcome"}:
 * <pre>
 *   {"outcome":"success",        "payload":B64, "log":".."}                         the function answered
 *   {"outcome":"function-error", "payload":B64, "log":"..", "functionError":"Unhandled"}
 *                                the function failed (its error, an init failure, a timeout, a crash)
 *   {"outcome":"error", "errorType":"EC2ThrottledException", "status":502, "message":".."}
 *                                the service failed before the function ran: Lambda's error and status
 * </pre>
 * {@code log} is what the environment wrote for this invocation (START to REPORT): the control
 * plane returns its tail when the caller asked for it (LogType Tail). A worker that has none may
 * leave it out: it reads as empty.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "outcome")
@JsonSubTypes({
        @JsonSubTypes.Type(value = InvokeResult.Success.class, name = "success"),
        @JsonSubTypes.Type(value = InvokeResult.FunctionError.class, name = "function-error"),
        @JsonSubTypes.Type(value = InvokeResult.ServiceError.class, name = "error")})
public sealed interface InvokeResult {
    record Success(Payload payload, String log) implements InvokeResult {
        public Success {
            Check.present(payload, "invoke result", "payload");
            log = log == null ? "" : log;
        }
    }

    /** {@code functionError}: Lambda's X-Amz-Function-Error ("Unhandled" for every failure a worker sees). */
    record FunctionError(String functionError, Payload payload, String log) implements InvokeResult {
        public FunctionError {
            Check.text(functionError, "invoke result", "functionError");
            Check.present(payload, "invoke result", "payload");
            log = log == null ? "" : log;
        }
    }

    record ServiceError(String errorType, @JsonProperty(required = true) int status, String message) implements InvokeResult {
        public ServiceError {
            Check.text(errorType, "invoke result", "errorType");
            Check.errorStatus(status, "invoke result");
            Check.text(message, "invoke result", "message");
        }
    }
}
