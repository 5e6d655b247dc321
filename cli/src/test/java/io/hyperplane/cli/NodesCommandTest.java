package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code hyperplane nodes}: which nodes carry which share of the flows, asked with the fleet's token. */
@Timeout(60)
class NodesCommandTest {
    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir.resolve("data"), "127.0.0.1", 0, null, null, null));
    }

    @AfterEach
    void stop() {
        http.shutdownNow();
        server.close();
    }

    private void heartbeat(String node, String body) throws Exception {
        HttpResponse<String> answer = http.send(HttpRequest.newBuilder(server.endpoint().resolve("/hyperplane/v1/nodes/" + node))
                .header("Authorization", "Bearer " + server.nodeToken()).PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    }

    /** What the command printed and its exit code. */
    private record Run(int exitCode, String out, String err) {
    }

    private Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Run(code, printed.toString(StandardCharsets.UTF_8), errors.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void shouldShowEachNodeWithItsShareOfTheFlows() throws Exception {
        heartbeat("n1", "{\"underlayIp\":\"198.18.0.1\",\"appliedVersion\":0,\"flows\":30,\"natPorts\":31,\"netns\":\"hp-up-node\",\"pid\":4242}");
        heartbeat("n2", "{\"underlayIp\":\"198.18.0.2\",\"appliedVersion\":0,\"flows\":10,\"natPorts\":10}");
        String token = dir.resolve("data/node-token").toString();

        Run table = run("nodes", "--endpoint", server.endpoint().toString(), "--token-file", token);
        Run json = run("nodes", "--json", "--endpoint", server.endpoint().toString(), "--token-file", token);

        assertThat(table.exitCode()).as(table.err()).isZero();
        assertThat(table.out().lines().toList()).first().asString().startsWith("NODE").contains("UNDERLAY", "LIVE", "FLOWS", "SHARE");
        assertThat(table.out()).containsPattern("n1 +198\\.18\\.0\\.1:4789 +hp-up-node +4242 +yes .* 30 +31 +75\\.0%")
                .containsPattern("n2 +198\\.18\\.0\\.2:4789 +- +- +yes .* 10 +10 +25\\.0%")
                .contains("fleet: 2 live nodes, 40 open flows, 41 NAT ports; config version ");
        JsonNode view = new ObjectMapper().readTree(json.out());
        assertThat(view.path("Nodes")).extracting(n -> n.path("Name").asText()).containsExactly("n1", "n2");
        assertThat(view.path("Nodes").get(0).path("FlowShare").asDouble()).isEqualTo(0.75);
    }

    @Test
    void shouldSayWhichTokenItNeedsWhenItHasNoneOrTheWrongOne() throws Exception {
        Run missing = run("nodes", "--endpoint", server.endpoint().toString(), "--token-file", dir.resolve("nope").toString());
        Path wrong = Files.writeString(dir.resolve("wrong-token"), "not-the-token\n");
        Run refused = run("nodes", "--endpoint", server.endpoint().toString(), "--token-file", wrong.toString());

        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("hyperplane nodes: no token file " + dir.resolve("nope") + ": give --token-file DATA_DIR/node-token");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("answered 401: missing or wrong bearer token");
    }
}
