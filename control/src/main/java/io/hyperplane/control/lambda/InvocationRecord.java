package io.hyperplane.control.lambda;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The document a destination receives when an asynchronous invocation ends (AWS Lambda developer
 * guide, "Capturing records of Lambda asynchronous invocations"):
 * <pre>
 * {"version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
 *  "requestContext": {"requestId": "..", "functionArn": "arn:aws:lambda:REGION:ACCOUNT:function:NAME:$LATEST",
 *                     "condition": "Success" | "RetriesExhausted" | "EventAgeExceeded", "approximateInvokeCount": 1},
 *  "requestPayload": {the event},
 *  "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
 *  "responsePayload": {what the function answered}}
 * </pre>
 * {@code functionError} only when the function failed; the response members only when the
 * function ran (an event that grew too old while throttled has none). Payloads that are not JSON
 * are given as strings.
 */
record InvocationRecord(String requestId, String functionArn, String condition, int approximateInvokeCount, byte[] requestPayload,
                        Response response, Instant timestamp) {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String VERSION = "1.0";

    /** The function's last answer: its X-Amz-Function-Error (null when it succeeded) and payload, run as {@code executedVersion}. */
    record Response(String executedVersion, String functionError, byte[] payload) {
    }

    InvocationRecord {
        if (requestId == null || functionArn == null || condition == null || requestPayload == null || timestamp == null) {
            throw new IllegalArgumentException("invocation record " + requestId + ": request id, function ARN, condition, request payload and"
                    + " timestamp are required");
        }
    }

    byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", VERSION);
        root.put("timestamp", timestamp.truncatedTo(ChronoUnit.MILLIS).toString());
        ObjectNode context = root.putObject("requestContext");
        context.put("requestId", requestId);
        context.put("functionArn", functionArn);
        context.put("condition", condition);
        context.put("approximateInvokeCount", approximateInvokeCount);
        root.set("requestPayload", document(requestPayload));
        if (response != null) {
            ObjectNode responseContext = root.putObject("responseContext");
            responseContext.put("statusCode", 200);
            responseContext.put("executedVersion", response.executedVersion());
            if (response.functionError() != null) {
                responseContext.put("functionError", response.functionError());
            }
            root.set("responsePayload", document(response.payload()));
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an invocation record could not be written", e);
        }
    }

    private static JsonNode document(byte[] payload) {
        if (payload.length == 0) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(payload);
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(new String(payload, StandardCharsets.UTF_8));
        }
    }
}
