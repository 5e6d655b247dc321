package io.hyperplane.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The rows of one run with what they were measured on; printed as a table or written as JSON. */
public record BenchReport(List<BenchRow> rows, Map<String, Object> run) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public String table() {
        StringBuilder s = new StringBuilder();
        s.append(String.format("%-26s %-8s %12s %12s %8s  %s%n", "metric", "unit", "kernel", "hyperplane", "ratio", "better"));
        for (BenchRow r : rows) {
            s.append(String.format("%-26s %-8s %12s %12s %8.2f  %s%n", r.name(), r.unit(), format(r.kernel()),
                    format(r.hyperplane()), r.ratio(), r.better()));
        }
        return s.toString();
    }

    private static String format(double v) {
        return Math.abs(v) >= 100 ? String.format("%.0f", v) : String.format("%.2f", v);
    }

    public void writeJson(Path file) throws IOException {
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        JSON.writeValue(file.toFile(), this);
    }
}
