package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The one JSON binding of the fleet's messages (this package's records): Jackson databind on the
 * records, configured once. The records validate themselves, so a message decoded here is a
 * message whose every value was checked.
 * <p>The rules, each for a reason:
 * <ul>
 *   <li>A refusal is an {@link IllegalArgumentException} saying what is wrong, never anything
 *       else: the control plane answers it with 400, and these bodies come from other machines.
 *   <li>No scalar is coerced ("7" is not a number, 7.5 is not an int, null is not 0): a value of
 *       the wrong kind is a malformed message, not a default.
 *   <li>Fields this release does not know are ignored: a fleet member one release ahead may send
 *       one more, and what is read is validated.
 *   <li>Absent optional values are left out rather than sent as null, as the hand-written
 *       encoders before this did.
 * </ul>
 */
public final class FleetJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.ALWAYS))
            .build();

    private FleetJson() {
    }

    public static String encode(Object message) {
        try {
            return MAPPER.writeValueAsString(message);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(message.getClass().getSimpleName() + " did not serialise", e);
        }
    }

    /** Decodes and validates one message; throws {@link IllegalArgumentException} saying what is wrong. */
    public static <T> T decode(String text, Class<T> type) {
        return decode(text == null ? null : text.getBytes(StandardCharsets.UTF_8), type);
    }

    /** Decodes and validates one message; throws {@link IllegalArgumentException} saying what is wrong. */
    public static <T> T decode(byte[] json, Class<T> type) {
        if (json == null || json.length == 0) {
            throw new IllegalArgumentException(type.getSimpleName() + ": the body is empty; expected a JSON object");
        }
        T message;
        try {
            message = MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw refusal(type, e);
        } catch (IOException e) { // reading a byte array does no I/O
            throw new IllegalStateException(e);
        }
        if (message == null) {
            throw new IllegalArgumentException(type.getSimpleName() + ": expected a JSON object, not null");
        }
        return message;
    }

    /**
     * A record's own check, if one refused a value (its message names the message and the field);
     * else what the parser found wrong, and where.
     */
    private static IllegalArgumentException refusal(Class<?> type, JsonProcessingException e) {
        if (e instanceof ValueInstantiationException && e.getCause() instanceof IllegalArgumentException check) {
            return new IllegalArgumentException(check.getMessage(), e);
        }
        String at = e instanceof JsonMappingException m && !m.getPath().isEmpty() ? " (at " + path(m.getPath()) + ")" : "";
        return new IllegalArgumentException(type.getSimpleName() + ": " + e.getOriginalMessage() + at, e);
    }

    /** {@code enis[0].flows}: where in the message the parser stopped. */
    private static String path(List<JsonMappingException.Reference> references) {
        StringBuilder out = new StringBuilder();
        for (JsonMappingException.Reference r : references) {
            if (r.getIndex() >= 0) {
                out.append('[').append(r.getIndex()).append(']');
            } else if (r.getFieldName() != null) {
                out.append(out.isEmpty() ? "" : ".").append(r.getFieldName());
            }
        }
        return out.toString();
    }
}
