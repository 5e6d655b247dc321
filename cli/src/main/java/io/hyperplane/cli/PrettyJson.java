package io.hyperplane.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/** JSON as the commands print or write it for people: indented, from one mapper (safe to share once configured). */
final class PrettyJson {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PrettyJson() {
    }

    static String of(Object value) throws JsonProcessingException {
        return MAPPER.writeValueAsString(value);
    }
}
