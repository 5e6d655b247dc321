package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.sigv4.Credential;
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

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code hyperplane nat-gateways}: the caller's NAT gateways, described as EC2 does, with the metrics the nodes report. */
@Timeout(60)
class NatGatewaysCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
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
        server.close();
    }

    private String run(String... args) {
        return AgainstServer.run(server, args);
    }

    private Ec2Client ec2(Credential c) {
        return Ec2Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .httpClient(UrlConnectionHttpClient.create()).build();
    }

    /** A public NAT gateway and its Elastic IP. */
    private record Made(String id, AllocateAddressResponse eip) {
    }

    /** A public NAT gateway of the client's account, in a new VPC with an internet gateway. */
    private static Made publicNatGateway(Ec2Client ec2) {
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
        String igw = ec2.createInternetGateway(b -> { }).internetGateway().internetGatewayId();
        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24")).subnet().subnetId();
        AllocateAddressResponse eip = ec2.allocateAddress(b -> b.domain(DomainType.VPC));
        return new Made(ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(eip.allocationId())).natGateway().natGatewayId(), eip);
    }

    /** Node n1's heartbeat, reporting metrics per NAT gateway id. */
    private void heartbeat(Map<String, Map<String, Long>> metrics) throws Exception {
        ObjectNode beat = JSON.createObjectNode().put("underlayIp", "198.18.0.1").put("appliedVersion", 0);
        ArrayNode natGateways = beat.putArray("natGateways");
        metrics.forEach((id, figures) -> natGateways.addObject().put("id", id).set("metrics", JSON.valueToTree(figures)));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.endpoint().resolve("/hyperplane/v1/nodes/n1"))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + server.nodeToken())
                .PUT(HttpRequest.BodyPublishers.ofString(beat.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    @Test
    void shouldSaySoWhenThereAreNoNatGateways() {
        assertThat(run("nat-gateways")).contains("no NAT gateways");
    }

    @Test
    void shouldPrintEachNatGatewayWithItsMetricsAndNoneOfAnotherAccounts() throws Exception {
        Made mine;
        Made theirs;
        try (Ec2Client ec2 = ec2(server.defaultCredential()); Ec2Client other = ec2(server.accounts().create())) {
            mine = publicNatGateway(ec2);
            theirs = publicNatGateway(other);
        }
        heartbeat(Map.of(mine.id(), Map.of("ActiveConnectionCount", 3L, "ErrorPortAllocation", 2L, "IdleTimeoutCount", 7L,
                "BytesOutToDestination", 1200L, "BytesInFromDestination", 3400L, "PacketsDropCount", 1L),
                theirs.id(), Map.of("ActiveConnectionCount", 50L)));

        String table = run("nat-gateways");
        assertThat(table.lines().findFirst().orElseThrow()).contains("NAT GATEWAY", "STATE", "PUBLIC IP", "PRIVATE IP", "ACTIVE",
                "ERROR-PORT-ALLOC", "IDLE-TIMEOUTS", "BYTES-OUT", "BYTES-IN");
        assertThat(table.lines().count()).as("one gateway: the caller's\n" + table).isEqualTo(2);
        String[] row = table.lines().skip(1).findFirst().orElseThrow().split("\\s+");
        assertThat(row).hasSize(9);
        assertThat(row[0]).isEqualTo(mine.id());
        assertThat(row[1]).as("no node has applied a version with it").isEqualTo("pending");
        assertThat(row[2]).isEqualTo(mine.eip().publicIp());
        assertThat(row[3]).startsWith("10.0.1.");
        assertThat(row).endsWith("3", "2", "7", "1200", "3400");

        JsonNode json = JSON.readTree(run("nat-gateways", "--json"));
        assertThat(json.path("NatGateways")).hasSize(1);
        JsonNode nat = json.path("NatGateways").get(0);
        assertThat(nat.path("NatGatewayId").asText()).isEqualTo(mine.id());
        assertThat(nat.path("NatGatewayAddresses").get(0).path("AllocationId").asText()).isEqualTo(mine.eip().allocationId());
        assertThat(nat.path("Metrics").path("PacketsDropCount").asLong()).isEqualTo(1);
        assertThat(nat.path("MetricsByNode").path("n1").path("ErrorPortAllocation").asLong()).isEqualTo(2);
    }
}
