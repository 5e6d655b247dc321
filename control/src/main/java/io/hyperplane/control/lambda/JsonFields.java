package io.hyperplane.control.lambda;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading a Lambda request's JSON body: the shape errors Lambda answers before it looks at any
 * value (SerializationException). What the values must satisfy is {@link LambdaConstraints}'.
 */
final class JsonFields {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonFields() {
    }

    /** The body as a JSON object; an empty body is an empty object. */
    static JsonNode object(byte[] body) {
        if (body == null || body.length == 0) {
            return JsonNodeFactory.instance.objectNode();
        }
        try {
            JsonNode node = JSON.readTree(body);
            if (node == null || !node.isObject()) {
                throw new LambdaError("SerializationException", 400, "The request body must be a JSON object.");
            }
            return node;
        } catch (IOException e) {
            throw new LambdaError("SerializationException", 400, "The request body is not valid JSON: " + e.getMessage());
        }
    }

    /** The member as text, or null when it is absent or null. */
    static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    /** Environment.Variables: null when there is no Environment, empty when it has no Variables object; values as text. */
    static Map<String, String> variables(JsonNode environment) {
        if (environment == null || environment.isNull()) {
            return null;
        }
        JsonNode variables = environment.get("Variables");
        Map<String, String> out = new LinkedHashMap<>();
        if (variables != null && variables.isObject()) {
            variables.properties().forEach(field -> out.put(field.getKey(), field.getValue().asText()));
        }
        return out;
    }

    /** The value's length as JSON, in UTF-8 bytes. */
    static int utf8Length(Object value) {
        try {
            return JSON.writeValueAsBytes(value).length;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A list of strings; absent or null is empty. */
    static List<String> strings(JsonNode array, String member) {
        if (array == null || array.isNull()) {
            return List.of();
        }
        if (!array.isArray()) {
            throw new LambdaError("SerializationException", 400, member + " must be a list of strings.");
        }
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
