package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.server.ControlPlaneServer;
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

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code hyperplane describe}: the server's resources as tables for humans and JSON for scripts. */
@Timeout(60)
class DescribeCommandTest {
    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private String vpcId;

    @BeforeEach
    void start() throws Exception {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null));
        try (Ec2Client ec2 = Ec2Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        server.defaultCredential().accessKeyId(), server.defaultCredential().secretAccessKey())))
                .httpClient(UrlConnectionHttpClient.create()).build()) {
            vpcId = ec2.createVpc(b -> b.cidrBlock("10.7.0.0/16").tagSpecifications(t -> t.resourceType("vpc")
                    .tags(tag -> tag.key("Name").value("describe-me")))).vpc().vpcId();
            ec2.createSubnet(b -> b.vpcId(vpcId).cidrBlock("10.7.1.0/24"));
        }
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String run(String... args) {
        return AgainstServer.run(server, args);
    }

    @Test
    void shouldPrintTablesWithTheResources() {
        String vpcs = run("describe", "vpcs");
        assertThat(vpcs.lines().findFirst().orElseThrow()).contains("VPC", "CIDR", "STATE", "NAME");
        assertThat(vpcs).contains(vpcId, "10.7.0.0/16", "available", "describe-me");
        assertThat(run("describe", "subnets")).contains("10.7.1.0/24", "251");
        assertThat(run("describe", "route-tables")).contains("10.7.0.0/16->local", "main");
    }

    @Test
    void shouldPrintJsonForScripts() throws Exception {
        JsonNode vpcs = new ObjectMapper().readTree(run("describe", "vpcs", "--json"));
        assertThat(vpcs).hasSize(1);
        assertThat(vpcs.get(0).path("vpcId").asText()).isEqualTo(vpcId);
        assertThat(vpcs.get(0).path("tagSet").get(0).path("value").asText()).isEqualTo("describe-me");
        JsonNode groups = new ObjectMapper().readTree(run("describe", "security-groups", "--json"));
        assertThat(groups.get(0).path("groupName").asText()).isEqualTo("default");
    }

    @Test
    void shouldRefuseAnUnknownKindClearly() {
        PrintStream original = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertThat(Main.run("describe", "lambdas", "--endpoint", server.endpoint().toString(),
                    "--credentials", server.credentialsFile().toString())).isEqualTo(1);
        } finally {
            System.setErr(original);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("'lambdas': expected one of");
    }
}
