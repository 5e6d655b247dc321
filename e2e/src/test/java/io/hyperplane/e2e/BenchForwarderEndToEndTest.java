package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cli.Main;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code hyperplane bench forwarder} for real but short (1 s per metric, one round): the three labs
 * are built (a node of one thread, the kernel, a node of two threads), every metric is measured, the JSON has the documented shape, and nothing is left
 * behind. It asserts no timing figure: numbers belong in docs/benchmarks.md, not in a test.
 */
class BenchForwarderEndToEndTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    void shouldMeasureBothPathsAndWriteTheDocumentedJson() throws IOException {
        Path json = dir.resolve("bench.json");

        int exit = Main.run("bench", "forwarder", "--seconds", "1", "--rounds", "1", "--warmup", "0",
                "--flows", "100000", "--json", json.toString(), "--verbose"); // logs on the console: nothing left behind

        assertThat(exit).isZero();
        JsonNode rows = new ObjectMapper().readTree(json.toFile()).path("rows");
        List<String> names = new ArrayList<>();
        for (JsonNode row : rows) {
            names.add(row.path("name").asText());
            assertThat(row.path("unit").asText()).isNotBlank();
            assertThat(row.path("better").asText()).isIn("higher", "lower");
            double kernel = row.path("kernel").asDouble();
            double ours = row.path("hyperplane").asDouble();
            assertThat(kernel).as(row.toString()).isPositive();
            assertThat(ours).as(row.toString()).isPositive();
            assertThat(row.path("ratio").asDouble()).isCloseTo(ours / kernel, Offset.offset(1e-9));
        }
        assertThat(names).containsExactly("tcp-1-stream", "tcp-4-streams", "udp-64B-received", "tcp-rr-1B-p50",
                "tcp-rr-1B-p99", "connections-1-client", "connections-4-clients",
                "nat-gateway-tcp-1-stream", "nat-gateway-tcp-4-streams", "nat-gateway-connections-4-clients", "heap-per-flow",
                "udp-64B-2-flows-1-thread", "udp-64B-2-flows-2-threads", "tcp-4-streams-2-threads", "connections-4-clients-2-threads");
        Process list = new ProcessBuilder("ip", "netns", "list").start();
        String namespaces = new String(list.getInputStream().readAllBytes());
        assertThat(namespaces).doesNotContain("hp-ba-", "hp-bb-", "hp-bc-");
    }
}
