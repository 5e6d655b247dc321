package io.hyperplane.lab.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Collectors;

/** Reads and writes {@link LabSpec} as YAML; the built-in default lab is {@code default-lab.yaml}. */
public final class LabSpecYaml {
    public static final String DEFAULT_RESOURCE = "/default-lab.yaml";

    private static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER))
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private LabSpecYaml() {
    }

    /** The default lab: one node, one host with three EEs, one VPC with two subnets and two resource hosts. */
    public static LabSpec defaultSpec() {
        try (InputStream in = LabSpecYaml.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(DEFAULT_RESOURCE + " is missing from the classpath");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "default lab");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loads a lab file; throws {@link IllegalArgumentException} naming the file and the bad value. */
    public static LabSpec load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("lab file " + file + ": no such file", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("lab file " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    public static LabSpec parse(String yaml, String source) {
        try {
            LabSpec spec = MAPPER.readValue(yaml, LabSpec.class);
            if (spec == null) {
                throw new IllegalArgumentException(source + ": empty");
            }
            return spec;
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException(source + ": " + cause.getMessage() + at(e.getLocation()), e);
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds() == null ? "" : e.getKnownPropertyIds().stream()
                    .map(Object::toString).sorted().collect(Collectors.joining(", ", " (known keys: ", ")"));
            throw new IllegalArgumentException(source + ": unknown key '" + e.getPropertyName() + "'" + at(e.getLocation()) + known, e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": " + e.getOriginalMessage() + at(e.getLocation()), e);
        }
    }

    public static String write(LabSpec spec) {
        try {
            return MAPPER.writeValueAsString(spec);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("lab spec did not serialise", e);
        }
    }

    private static String at(JsonLocation location) {
        return location == null || location.getLineNr() < 1 ? "" : " (line " + location.getLineNr() + ")";
    }
}
