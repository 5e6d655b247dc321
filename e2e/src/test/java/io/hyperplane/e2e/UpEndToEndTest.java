package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cli.Main;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.profiles.ProfileFile;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;

import java.net.URI;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code hyperplane up} as a process: it comes up with two forwarder nodes and says where they are;
 * both register, and {@code hyperplane nodes} shows them; a VPC function made with the SDK becomes
 * Active; SIGTERM removes every namespace and process; a second {@code up} (one node) on the same
 * data directory brings the function, the VPC and the ENI (with its address) back.
 */
@Timeout(300)
class UpEndToEndTest {
    private static final String LISTEN = "127.0.0.1:18765";

    private Process up(Path dataDir, Path log, int nodes) throws Exception {
        List<String> command = new ArrayList<>(Jvm.command(List.of("--enable-native-access=ALL-UNNAMED"), Main.class.getName()));
        command.addAll(List.of("up", "--data-dir", dataDir.toString(), "--listen", LISTEN, "--nodes", Integer.toString(nodes)));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> !p.isAlive() || Files.readString(log).contains("hyperplane is up"));
        assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
        return p;
    }

    private static void stop(Process p) throws Exception {
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }

    /** The credentials file `up` writes into its data directory, as the AWS CLI would read it. */
    private static ProfileCredentialsProvider credentialsWrittenBy(Path data) {
        return ProfileCredentialsProvider.builder()
                .profileFile(ProfileFile.builder().content(data.resolve("credentials")).type(ProfileFile.Type.CREDENTIALS).build()).build();
    }

    /** {@code hyperplane nodes --json} against the running up, as an operator would ask it (in this JVM: one start-up less). */
    private static JsonNode nodes(Path data) throws Exception {
        StringWriter out = new StringWriter();
        CommandLine nodes = new CommandLine(new Main()).setOut(new PrintWriter(out));
        assertThat(nodes.execute("nodes", "--json", "--endpoint", "http://" + LISTEN, "--token-file", data.resolve("node-token").toString()))
                .as(out.toString()).isZero();
        return new ObjectMapper().readTree(out.toString());
    }

    @Test
    void shouldComeUpStopCleanlyAndRestoreItsStateOnTheNextUp(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        Process first = up(data, dir.resolve("up1.log"), 2);
        String output = Files.readString(dir.resolve("up1.log"));
        assertThat(output).contains("http://" + LISTEN).contains("aws_access_key_id").contains("aws --region us-east-1 --endpoint-url");
        assertThat(output).as("up's nodes, each in its namespace at its address, with its pid")
                .containsPattern("n1 +hp-up-node +198\\.18\\.0\\.1 +\\d+ ").containsPattern("n2 +hp-up-node2 +198\\.18\\.0\\.2 +\\d+ ");
        assertThat(Namespaces.list()).contains("hp-up-node", "hp-up-node2");
        assertThat(output).as("up's own progress only").doesNotContain("HikariDataSource").doesNotContain("Flyway")
                .doesNotContain("node config version").contains("logs: " + data.resolve("up.log"));
        assertThat(data.resolve("up.log")).content().as("the frameworks' and components' logs").contains("HikariDataSource")
                .contains("node config version");
        String eniIp;
        try {
            ProfileCredentialsProvider credentials = credentialsWrittenBy(data);
            URI endpoint = URI.create("http://" + LISTEN);
            try (Ec2Client ec2 = AwsClients.ec2(endpoint, credentials);
                 IamClient iam = AwsClients.iam(endpoint, credentials);
                 LambdaClient lambda = AwsClients.lambda(endpoint, credentials)) {
                String vpc = ec2.createVpc(b -> b.cidrBlock("10.50.0.0/16")).vpc().vpcId();
                String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.50.1.0/24")).subnet().subnetId();
                String group = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("fn").description("fn")).groupId();
                String role = iam.createRole(b -> b.roleName("fn").assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
                iam.attachRolePolicy(b -> b.roleName("fn").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
                lambda.createFunction(b -> b.functionName("kept").role(role).runtime("python3.12").handler("app.handler")
                        .code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", "def handler(e, c):\n    return 'ok'\n")))))
                        .vpcConfig(v -> v.subnetIds(subnet).securityGroupIds(group)));
                lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("kept"), AwsClients.promptly());
                assertThat(lambda.invoke(b -> b.functionName("kept")).payload().asUtf8String()).isEqualTo("\"ok\"");
                eniIp = ec2.describeNetworkInterfaces().networkInterfaces().getFirst().privateIpAddress();
            }
            JsonNode fleet = nodes(data);
            assertThat(fleet.path("LiveNodes").asInt()).as(fleet.toString()).isEqualTo(2);
            assertThat(fleet.path("Nodes")).extracting(n -> n.path("Name").asText() + " " + n.path("UnderlayIp").asText() + " "
                    + n.path("Namespace").asText()).containsExactly("n1 198.18.0.1 hp-up-node", "n2 198.18.0.2 hp-up-node2");
            for (JsonNode node : fleet.path("Nodes")) {
                assertThat(output).as("the pid up printed for " + node.path("Name").asText())
                        .containsPattern(node.path("Name").asText() + " +\\S+ +\\S+ +" + node.path("Pid").asLong() + " ");
            }
            assertThat(PrivateState.exposed(data)).as("the store, keys, node and worker state, snapshots, journals and logs: 0700/0600")
                    .isEmpty();
        } finally {
            stop(first);
        }
        assertThat(Namespaces.list()).as("stopping removed every namespace").noneMatch(n -> n.startsWith("hp-up-") || n.startsWith("hp-ee-w"));

        Process second = up(data, dir.resolve("up2.log"), 1);
        try {
            ProfileCredentialsProvider credentials = credentialsWrittenBy(data);
            URI endpoint = URI.create("http://" + LISTEN);
            try (Ec2Client ec2 = AwsClients.ec2(endpoint, credentials);
                 LambdaClient lambda = AwsClients.lambda(endpoint, credentials)) {
                assertThat(lambda.getFunctionConfiguration(b -> b.functionName("kept")).stateAsString()).isEqualTo("Active");
                assertThat(ec2.describeVpcs().vpcs()).anyMatch(v -> v.cidrBlock().equals("10.50.0.0/16"));
                assertThat(ec2.describeNetworkInterfaces().networkInterfaces()).extracting(n -> n.privateIpAddress()).containsExactly(eniIp);
                assertThat(lambda.invoke(b -> b.functionName("kept")).payload().asUtf8String()).isEqualTo("\"ok\"");
            }
        } finally {
            stop(second);
        }
        assertThat(Namespaces.list()).noneMatch(n -> n.startsWith("hp-up-") || n.startsWith("hp-ee-w"));
        String survivors = new String(new ProcessBuilder("ps", "-eo", "args").start().getInputStream().readAllBytes());
        assertThat(survivors).as("no worker or node process survives").doesNotContain("--netns hp-up-");
    }
}
