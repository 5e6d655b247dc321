package io.hyperplane.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Lambda error JSON in both directions: what the Runtime API answers a runtime with
 * ({@code {"errorMessage","errorType"}}, the {@code ErrorResponse} schema of the 2018-06-01 OpenAPI
 * document) and what a runtime posts to {@code /error} or {@code /init/error} ({@code ErrorRequest}:
 * errorMessage, errorType, stackTrace), read leniently because runtimes may post anything.
 */
final class ErrorBodies {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The errorType the Runtime API's own fallback uses when a runtime names none. */
    static final String UNKNOWN_ERROR_TYPE = "Runtime.Unknown";

    private ErrorBodies() {
    }

    /** {@code {"errorMessage":...,"errorType":...}} in AWS's field order. */
    static byte[] render(String errorType, String errorMessage) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("errorMessage", errorMessage);
        body.put("errorType", errorType);
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render an error body of two strings", e);
        }
    }

    /** What a runtime reported: the body's fields when it is the Lambda error JSON, else the header's type. */
    static Reported read(byte[] body, String errorTypeHeader) {
        String type = null;
        String message = null;
        if (body.length > 0) {
            try {
                JsonNode node = JSON.readTree(body);
                if (node != null && node.isObject()) {
                    type = text(node.get("errorType"));
                    message = text(node.get("errorMessage"));
                }
            } catch (IOException notJson) {
                // Runtimes may post any content type; AWS then relies on the header alone.
            }
        }
        if (type == null || type.isEmpty()) {
            type = errorTypeHeader == null || errorTypeHeader.isBlank() ? UNKNOWN_ERROR_TYPE : errorTypeHeader;
        }
        if (message == null) {
            message = body.length > 0 && !looksLikeJson(body) ? new String(body, StandardCharsets.UTF_8) : "";
        }
        return new Reported(type, message);
    }

    private static boolean looksLikeJson(byte[] body) {
        for (byte b : body) {
            if (!Character.isWhitespace(b)) {
                return b == '{' || b == '[';
            }
        }
        return false;
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    /** The errorType and errorMessage a runtime reported. */
    record Reported(String errorType, String errorMessage) {
    }
}
