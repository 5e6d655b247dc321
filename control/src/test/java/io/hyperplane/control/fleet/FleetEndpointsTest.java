package io.hyperplane.control.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fleet.EnvironmentRegistered;
import io.hyperplane.config.fleet.FleetError;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeatAnswer;
import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The fleet's HTTP endpoints read config.fleet's records: a body that is not one (not JSON, a
 * field missing, a value of the wrong kind or invalid) is answered 400 with a FleetError naming
 * what is wrong, and changes nothing; fleet members that send what they should are answered with
 * records too.
 */
@Timeout(60)
class FleetEndpointsTest {
    private static final String NODE = "/hyperplane/v1/nodes/n1";
    private static final String WORKER = "/hyperplane/v1/workers/w1";
    private static final String ENVIRONMENTS = "/hyperplane/v1/execution-environments";
    private static final String LEGACY_ENIS = "/hyperplane/v1/legacy-enis";

    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null));
    }

    @AfterEach
    void stop() {
        http.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    private HttpResponse<String> send(String method, String path, String body, String token) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(server.endpoint().resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        return send(method, path, body, server.nodeToken());
    }

    /** Asserts a 400 whose FleetError names {@code expected}. */
    private void assertRefused(String method, String path, String body, String expected) throws Exception {
        HttpResponse<String> response = send(method, path, body);
        assertThat(response.statusCode()).as("%s %s %s: %s", method, path, body, response.body()).isEqualTo(400);
        assertThat(FleetJson.decode(response.body(), FleetError.class).message()).as("%s %s %s", method, path, body).contains(expected);
    }

    @Test
    void shouldAnswer400ToBodiesThatAreNotTheRecordAskedForAndChangeNothing() throws Exception {
        for (String path : List.of(NODE, WORKER)) {
            assertRefused("PUT", path, "not json", "Unrecognized token 'not'");
            assertRefused("PUT", path, "", "the body is empty");
            assertRefused("PUT", path, "[]", "Cannot deserialize");
        }
        assertRefused("PUT", NODE, "{\"underlayIp\":\"198.18.0.9\",\"port\":\"4789\"}", "(at port)");
        assertRefused("PUT", NODE, "{\"underlayIp\":\"198.18.0.9\",\"enis\":[{\"id\":\"eni-1\",\"flows\":1,\"natPorts\":1}]}",
                "node heartbeat ENI: ip is missing");
        assertRefused("PUT", WORKER, "{\"underlayIp\":\"198.18.0.11\",\"environments\":0}", "worker heartbeat: url is missing");
        assertRefused("PUT", WORKER, "{\"url\":\"http://127.0.0.1:1\",\"underlayIp\":\"198.18.0.11\"}", "'environments'");
        assertRefused("POST", ENVIRONMENTS, "{\"id\":\"hp-ee-1\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\"}",
                "execution environment hp-ee-1: mac is missing");
        assertRefused("POST", ENVIRONMENTS + "?waitForNodes=true", "{oops", "EnvironmentRegistration: ");
        assertRefused("POST", LEGACY_ENIS, "{\"accountId\":\"123456789012\",\"functionName\":\"fn\",\"securityGroupIds\":[]}",
                "legacy ENI request: subnetId is missing");

        assertThat(server.nodes().all()).as("no node registered").isEmpty();
        assertThat(server.workers().live()).as("no worker registered").isEmpty();
        assertThat(send("DELETE", ENVIRONMENTS + "/hp-ee-1", null).statusCode()).as("no environment registered").isEqualTo(404);
    }

    @Test
    void shouldAnswerFleetMembersWithRecords() throws Exception {
        HttpResponse<String> node = send("PUT", NODE, "{\"underlayIp\":\"198.18.0.9\",\"appliedVersion\":0,\"enis\":[]}");
        assertThat(node.statusCode()).as(node.body()).isEqualTo(200);
        NodeHeartbeatAnswer nodeAnswer = FleetJson.decode(node.body(), NodeHeartbeatAnswer.class);
        assertThat(nodeAnswer.heartbeatIntervalMs()).isEqualTo(1000);
        assertThat(nodeAnswer.fleet().members()).extracting(FleetPlan.Member::index, FleetPlan.Member::name, FleetPlan.Member::inService)
                .as("the plan, the node in it at index 1 and in service").containsExactly(tuple(1, "n1", true));
        assertThat(server.nodes().all()).extracting(NodeRegistry.NodeStatus::port).as("the port a node leaves out").containsExactly(4789);

        HttpResponse<String> worker = send("PUT", WORKER, "{\"url\":\"http://127.0.0.1:4000\",\"underlayIp\":\"198.18.0.11\",\"environments\":0}");
        assertThat(worker.statusCode()).as(worker.body()).isEqualTo(200);
        WorkerHeartbeatAnswer workerAnswer = FleetJson.decode(worker.body(), WorkerHeartbeatAnswer.class);
        assertThat(workerAnswer.nodes()).containsExactly(new WorkerHeartbeatAnswer.LiveNode("n1", "198.18.0.9", 4789));
        assertThat(workerAnswer.fleet()).as("the same plan").isEqualTo(nodeAnswer.fleet());
        assertThat(server.workers().live()).extracting(WorkerRegistry.WorkerStatus::networkModel).containsExactly("shared");

        HttpResponse<String> gone = send("DELETE", ENVIRONMENTS + "/hp-ee-nosuch", null);
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(FleetJson.decode(gone.body(), FleetError.class)).isEqualTo(FleetError.of("no execution environment 'hp-ee-nosuch'"));

        HttpResponse<String> wrongToken = send("PUT", NODE, "{}", "wrong");
        assertThat(wrongToken.statusCode()).isEqualTo(401);
        assertThat(FleetJson.decode(wrongToken.body(), FleetError.class).message()).contains("node-token");
    }

    @Test
    void shouldBindAnEnvironmentToTheServiceEgressWithoutAnEniOfTheStoresAndPublishIt() throws Exception {
        String slot = "{\"id\":\"hp-ee-w1-1\",\"hostIp\":\"198.18.0.11\",\"ip\":\"100.64.0.17\",\"mac\":\"02:ee:00:00:00:01\"";
        HttpResponse<String> prepared = send("POST", ENVIRONMENTS, slot + "}");
        assertThat(prepared.statusCode()).as(prepared.body()).isEqualTo(201);
        long vni = FleetJson.decode(prepared.body(), EnvironmentRegistered.class).vni();

        HttpResponse<String> bound = send("POST", ENVIRONMENTS, slot + ",\"eniId\":\"" + Internet.SERVICE_EGRESS_ENI_ID + "\"}");

        assertThat(bound.statusCode()).as(bound.body()).isEqualTo(201);
        NodeSnapshot.ExecutionEnvironment expected = new NodeSnapshot.ExecutionEnvironment("hp-ee-w1-1", (int) vni, "198.18.0.11", "100.64.0.17",
                "02:ee:00:00:00:01", Internet.SERVICE_EGRESS_ENI_ID);
        NodeConfigPublisher.Published delta = server.nodeConfig().current();
        assertThat(delta.snapshot().executionEnvironments()).as("the delta").containsExactly(expected);
        NodeConfigPublisher.Published rebuilt = server.nodeConfig().refresh().get(20, TimeUnit.SECONDS);
        assertThat(rebuilt.snapshot().executionEnvironments()).as("read from the store").containsExactly(expected);
        assertThat(rebuilt.version()).as("the store holds what the delta published: no new version").isEqualTo(delta.version());
        assertRefused("POST", ENVIRONMENTS, slot + ",\"eniId\":\"eni-nosuch\"}", "execution environment hp-ee-w1-1: no such ENI 'eni-nosuch'");

        assertThat(send("DELETE", ENVIRONMENTS + "/hp-ee-w1-1", null).statusCode()).isEqualTo(204);
        assertThat(server.nodeConfig().current().snapshot().executionEnvironments()).isEmpty();
    }

    @Test
    void shouldListEachNodeWithItsShareOfTheFlowsToTheFleetTokenOnly() throws Exception {
        send("PUT", NODE, "{\"underlayIp\":\"198.18.0.1\",\"appliedVersion\":0,\"flows\":3,\"natPorts\":4}");
        send("PUT", "/hyperplane/v1/nodes/n2", "{\"underlayIp\":\"198.18.0.2\",\"appliedVersion\":0,\"enis\":[{\"id\":\"eni-1\","
                + "\"ip\":\"10.0.1.4\",\"flows\":1,\"natPorts\":1}]}");

        HttpResponse<String> fleet = send("GET", "/hyperplane/v1/nodes", null);

        assertThat(fleet.statusCode()).as(fleet.body()).isEqualTo(200);
        JsonNode view = new ObjectMapper().readTree(fleet.body());
        assertThat(view.path("LiveNodes").asInt()).isEqualTo(2);
        assertThat(view.path("Flows").asLong()).isEqualTo(4);
        assertThat(view.path("NatPorts").asLong()).isEqualTo(5);
        assertThat(view.path("Nodes")).hasSize(2);
        JsonNode n1 = view.path("Nodes").get(0);
        assertThat(n1.path("Name").asText()).isEqualTo("n1");
        assertThat(n1.path("UnderlayIp").asText()).isEqualTo("198.18.0.1");
        assertThat(n1.path("Live").asBoolean()).isTrue();
        assertThat(n1.path("AppliedVersion").asLong()).isZero();
        assertThat(n1.path("LastHeartbeat").asText()).isNotEmpty();
        assertThat(n1.path("Flows").asLong()).isEqualTo(3);
        assertThat(n1.path("FlowShare").asDouble()).isEqualTo(0.75);
        assertThat(view.path("Nodes").get(1).path("FlowShare").asDouble()).as("n2: its ENIs' flows, as it sent no node-wide figure").isEqualTo(0.25);
        assertThat(n1.path("Index").asInt()).isEqualTo(1);
        assertThat(n1.path("InService").asBoolean()).isTrue();
        assertThat(n1.path("Backup").asInt()).isEqualTo(2);
        assertThat(n1.path("PortBlocks")).as("16 blocks dealt between two").hasSize(8);
        assertThat(n1.path("PortBlocks").get(0).asText()).isEqualTo("1024-5055");

        assertThat(send("GET", "/hyperplane/v1/nodes", null, "wrong").statusCode()).as("every tenant's flows: the operator's view").isEqualTo(401);
    }
}
