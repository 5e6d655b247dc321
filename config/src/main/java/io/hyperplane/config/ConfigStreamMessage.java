package io.hyperplane.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The messages of a node's configuration stream (a WebSocket the node keeps open to the control
 * plane), one JSON object each:
 * <pre>
 *   control plane -> node   {"type":"snapshot","snapshot":{...}}                       a whole version
 *                           {"type":"environments","base":B,"version":V,"put":[...],"remove":[...]}
 *   node -> control plane   {"type":"applied","version":V}     the forwarding thread runs V
 * </pre>
 * The control plane sends a version's environments delta only to a node it last sent {@code base};
 * a node acknowledges each version once its forwarding thread has switched to it.
 */
public sealed interface ConfigStreamMessage {
    /** A whole snapshot. */
    record Snapshot(NodeSnapshot snapshot) implements ConfigStreamMessage {
    }

    /** Execution environments changed since {@code base}. */
    record Environments(EnvironmentsDelta delta) implements ConfigStreamMessage {
    }

    /** The node's forwarding thread runs {@code version}. */
    record Applied(long version) implements ConfigStreamMessage {
    }

    ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** A snapshot message around {@code snapshotJson}, a snapshot already written as JSON (not parsed again). */
    static String snapshot(String snapshotJson) {
        return "{\"type\":\"snapshot\",\"snapshot\":" + snapshotJson + "}";
    }

    static String environments(EnvironmentsDelta delta) {
        ObjectNode out = MAPPER.valueToTree(delta);
        out.put("type", "environments");
        return out.toString();
    }

    static String applied(long version) {
        return "{\"type\":\"applied\",\"version\":" + version + "}";
    }

    /** Parses and validates one message; throws {@link IllegalArgumentException} saying what is wrong. */
    static ConfigStreamMessage parse(String text) {
        try {
            JsonNode json = MAPPER.readTree(text);
            if (json == null || !json.isObject()) {
                throw new IllegalArgumentException("config stream: expected a JSON object");
            }
            String type = json.path("type").asText("");
            return switch (type) {
                case "snapshot" -> new Snapshot(MAPPER.treeToValue(json.path("snapshot"), NodeSnapshot.class));
                case "environments" -> {
                    ObjectNode body = ((ObjectNode) json).deepCopy();
                    body.remove("type");
                    yield new Environments(MAPPER.treeToValue(body, EnvironmentsDelta.class));
                }
                case "applied" -> {
                    if (!json.path("version").canConvertToLong()) {
                        throw new IllegalArgumentException("config stream: applied without a version");
                    }
                    yield new Applied(json.path("version").asLong());
                }
                default -> throw new IllegalArgumentException("config stream: unknown message type '" + type + "'");
            };
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("config stream: " + cause.getMessage(), e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("config stream: " + e.getOriginalMessage(), e);
        }
    }
}
