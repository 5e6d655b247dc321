package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code hyperplane nodes}: the forwarder fleet as the control plane sees it, which nodes carry
 * which share of the flows ({@code GET /hyperplane/v1/nodes}). The fleet's view, not a tenant's:
 * it is asked with the fleet's bearer token (the server's DATA_DIR/node-token), as nodes and workers
 * are, since its figures sum every tenant's flows.
 */
@Command(name = "nodes", mixinStandardHelpOptions = true,
        description = "List the forwarder nodes the control plane knows: underlay address, namespace and pid on its host, live or not,"
                + " last heartbeat, the config version"
                + " each runs, its open flows and NAT ports, and its share of the live nodes' flows. --json prints the server's view as is.")
final class NodesCommand implements Callable<Integer> {
    static final String PATH = "/hyperplane/v1/nodes";
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** What a column shows when there is nothing to show: a node that names no namespace or pid, or one not live (no share). */
    private static final String NONE = "-";

    @Spec
    CommandSpec spec;

    @Option(names = "--endpoint", defaultValue = "http://" + ServerCommand.DEFAULT_LISTEN, description = "The server (default: ${DEFAULT-VALUE}).")
    URI endpoint;

    @Option(names = "--token-file", defaultValue = UpCommand.DEFAULT_DATA_DIR + "/node-token", paramLabel = "FILE",
            description = "The fleet's bearer token: the server's DATA_DIR/node-token (default: ${DEFAULT-VALUE}, 'hyperplane up''s).")
    Path tokenFile;

    @Option(names = "--json", description = "Print the server's JSON view as is.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!Files.isReadable(tokenFile)) {
            throw new IllegalArgumentException("no token file " + tokenFile + ": give --token-file DATA_DIR/node-token (the server's data directory has one)");
        }
        String token = Files.readString(tokenFile).trim();
        HttpResponse<String> response;
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build()) {
            response = http.send(HttpRequest.newBuilder(endpoint.resolve(PATH)).timeout(TIMEOUT).header("Authorization", "Bearer " + token).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IOException("cannot reach the control plane at " + endpoint + ": " + e.getMessage(), e);
        }
        JsonNode view = new ObjectMapper().readTree(response.body());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(endpoint.resolve(PATH) + " answered " + response.statusCode() + ": " + view.path("message").asText(response.body()));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(PrettyJson.of(view));
        } else {
            print(view, out);
        }
        out.flush();
        return 0;
    }

    static void print(JsonNode view, PrintWriter out) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NODE", "UNDERLAY", "NAMESPACE", "PID", "LIVE", "LAST HEARTBEAT", "CONFIG", "FLOWS", "NAT PORTS", "SHARE"});
        for (JsonNode node : view.path("Nodes")) {
            boolean live = node.path("Live").asBoolean();
            rows.add(new String[] {node.path("Name").asText(), node.path("UnderlayIp").asText() + ":" + node.path("Port").asInt(),
                    node.path("Namespace").asText(NONE), node.path("Pid").asText(NONE), live ? "yes" : "NO", node.path("LastHeartbeat").asText(), node.path("AppliedVersion").asText(),
                    node.path("Flows").asText(), node.path("NatPorts").asText(),
                    live ? String.format(Locale.ROOT, "%.1f%%", node.path("FlowShare").asDouble() * 100) : NONE});
        }
        if (rows.size() == 1) {
            out.println("no forwarder node has registered");
        } else {
            Table.print(out, rows);
        }
        out.println();
        out.println("fleet: " + view.path("LiveNodes").asInt() + " live node" + (view.path("LiveNodes").asInt() == 1 ? "" : "s") + ", "
                + view.path("Flows").asLong() + " open flows, " + view.path("NatPorts").asLong() + " NAT ports; config version "
                + view.path("ConfigVersion").asLong());
    }
}
