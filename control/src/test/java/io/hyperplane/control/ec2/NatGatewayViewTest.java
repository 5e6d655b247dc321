package io.hyperplane.control.ec2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.AllocateAddressResponse;
import software.amazon.awssdk.services.ec2.model.DomainType;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /hyperplane/v1/nat-gateways}: the caller's NAT gateways as DescribeNatGateways shows
 * them, with the metrics the forwarder nodes' heartbeats carry, summed over the live nodes and per
 * node; another account's gateways and a dead node's figures never in it.
 */
@Timeout(60)
class NatGatewayViewTest {
    private static final String PATH = "/hyperplane/v1/nat-gateways";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<Ec2Client> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null));
    }

    @AfterEach
    void stop() {
        clients.forEach(Ec2Client::close);
        http.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    private Ec2Client ec2(Credential c) {
        Ec2Client client = Ec2Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .httpClient(UrlConnectionHttpClient.create()).build();
        clients.add(client);
        return client;
    }

    /** A subnet 10.0.1.0/24 in a new VPC 10.0.0.0/16 with an internet gateway attached. */
    private static String subnetWithAWayOut(Ec2Client ec2) {
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
        String igw = ec2.createInternetGateway(b -> { }).internetGateway().internetGatewayId();
        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        return ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24")).subnet().subnetId();
    }

    /** A node's heartbeat: it runs {@code version} and reports {@code metrics} per NAT gateway id. */
    private void heartbeat(String node, String underlayIp, long version, Map<String, Map<String, Long>> metrics) throws Exception {
        ObjectNode beat = JSON.createObjectNode().put("underlayIp", underlayIp).put("port", 4789).put("appliedVersion", version)
                .put("incarnation", "run-1");
        beat.putArray("enis");
        ArrayNode natGateways = beat.putArray("natGateways");
        metrics.forEach((id, figures) -> natGateways.addObject().put("id", id).set("metrics", JSON.valueToTree(figures)));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.endpoint().resolve("/hyperplane/v1/nodes/" + node))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + server.nodeToken())
                .PUT(HttpRequest.BodyPublishers.ofString(beat.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    /** The view as {@code c}'s account sees it, signed as the CLI signs it. */
    private JsonNode view(Credential c) throws Exception {
        URI uri = server.endpoint().resolve(PATH);
        Map<String, String> headers = SigV4Signer.sign("GET", uri.getRawPath(), null, Map.of("host", uri.getHost() + ":" + uri.getPort()),
                new byte[0], c, "us-east-1", "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET();
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static JsonNode gateway(JsonNode view, String id) {
        for (JsonNode g : view.path("NatGateways")) {
            if (g.path("NatGatewayId").asText().equals(id)) {
                return g;
            }
        }
        throw new AssertionError(id + " not in " + view);
    }

    private static List<String> ids(JsonNode view) {
        List<String> ids = new ArrayList<>();
        view.path("NatGateways").forEach(g -> ids.add(g.path("NatGatewayId").asText()));
        return ids;
    }

    @Test
    void shouldDescribeTheCallersNatGatewaysWithTheirMetricsSummedOverTheLiveNodes() throws Exception {
        Ec2Client ec2 = ec2(server.defaultCredential());
        String subnet = subnetWithAWayOut(ec2);
        AllocateAddressResponse eip = ec2.allocateAddress(b -> b.domain(DomainType.VPC));
        String mine = ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(eip.allocationId())).natGateway().natGatewayId();
        String myPrivate = ec2.createNatGateway(b -> b.subnetId(subnet).connectivityType("private")).natGateway().natGatewayId();
        Credential otherAccount = server.accounts().create();
        Ec2Client other = ec2(otherAccount);
        String theirs = other.createNatGateway(b -> b.subnetId(subnetWithAWayOut(other)).connectivityType("private")).natGateway().natGatewayId();

        long version = server.nodeConfig().refresh().join().version();
        heartbeat("n1", "198.18.0.1", version, Map.of(
                mine, Map.of("ActiveConnectionCount", 3L, "ErrorPortAllocation", 1L, "BytesOutToDestination", 1000L),
                theirs, Map.of("ActiveConnectionCount", 9L, "ErrorPortAllocation", 99L)));
        heartbeat("n2", "198.18.0.2", version, Map.of(
                mine, Map.of("ActiveConnectionCount", 2L, "ErrorPortAllocation", 4L, "BytesOutToDestination", 500L)));
        server.natGateways().reconcileOnce();

        JsonNode view = view(server.defaultCredential());
        assertThat(ids(view)).as("the caller's gateways only").containsExactlyInAnyOrder(mine, myPrivate);
        JsonNode described = gateway(view, mine);
        assertThat(described.path("State").asText()).isEqualTo("available");
        assertThat(described.path("SubnetId").asText()).isEqualTo(subnet);
        assertThat(described.path("VpcId").asText()).startsWith("vpc-");
        assertThat(described.path("ConnectivityType").asText()).isEqualTo("public");
        JsonNode address = described.path("NatGatewayAddresses").get(0);
        assertThat(address.path("PublicIp").asText()).isEqualTo(eip.publicIp());
        assertThat(address.path("AllocationId").asText()).isEqualTo(eip.allocationId());
        assertThat(address.path("PrivateIp").asText()).startsWith("10.0.1.");
        assertThat(address.path("Status").asText()).isEqualTo("succeeded");
        JsonNode metrics = described.path("Metrics");
        assertThat(metrics.path("ActiveConnectionCount").asLong()).isEqualTo(5);
        assertThat(metrics.path("ErrorPortAllocation").asLong()).isEqualTo(5);
        assertThat(metrics.path("BytesOutToDestination").asLong()).isEqualTo(1500);
        assertThat(described.path("MetricsByNode").path("n1").path("ErrorPortAllocation").asLong()).isEqualTo(1);
        assertThat(described.path("MetricsByNode").path("n2").path("ErrorPortAllocation").asLong()).isEqualTo(4);
        JsonNode unreported = gateway(view, myPrivate);
        assertThat(unreported.path("NatGatewayAddresses").get(0).has("PublicIp")).as("a private gateway has no public address").isFalse();
        assertThat(unreported.path("Metrics").isEmpty()).as("no node reports it").isTrue();

        JsonNode theirView = view(otherAccount);
        assertThat(ids(theirView)).containsExactly(theirs);
        assertThat(gateway(theirView, theirs).path("Metrics").path("ErrorPortAllocation").asLong()).isEqualTo(99);
        assertThat(gateway(theirView, theirs).path("MetricsByNode").has("n2")).isFalse();

        // n2 falls silent; once it is no longer live its figures are no longer counted.
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            heartbeat("n1", "198.18.0.1", version, Map.of(mine, Map.of("ActiveConnectionCount", 3L, "ErrorPortAllocation", 1L,
                    "BytesOutToDestination", 1000L)));
            JsonNode now = gateway(view(server.defaultCredential()), mine);
            assertThat(now.path("MetricsByNode").has("n2")).as("n2's figures").isFalse();
            assertThat(now.path("Metrics").path("ErrorPortAllocation").asLong()).isEqualTo(1);
            assertThat(now.path("Metrics").path("BytesOutToDestination").asLong()).isEqualTo(1000);
        });
        assertThat(gateway(view(otherAccount), theirs).path("Metrics").isEmpty()).as("n1 no longer carries it").isTrue();
    }

    @Test
    void shouldRefuseAnUnsignedRequest() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.endpoint().resolve(PATH)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).doesNotContain("NatGateways");
    }
}
