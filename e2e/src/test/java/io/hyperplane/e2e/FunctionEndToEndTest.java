package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cli.Main;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.probe.ProbeMain;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.Directories;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.IpPermission;
import software.amazon.awssdk.services.ec2.model.NetworkInterface;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.Runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 4 for real: a forwarder node started with {@code --control} (its socket in the fabric's
 * underlay, itself on the machine's loopback with the control plane) fetches its configuration;
 * a function created through the AWS SDK's LambdaClient goes Pending → Active only once that node
 * runs its ENI; an execution environment registered like a worker would reaches a database
 * instance whose security group admits only the function's group — the instance sees the ENI's
 * address. A security-group change reaches the node within a second and applies to new flows
 * only; a network ACL change cuts the established flow.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class FunctionEndToEndTest {
    private static final String PREFIX = "hp-fe-";
    private static final String TRUST = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}""";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> made = List.of(PREFIX + "t-node", PREFIX + "t-host", PREFIX + "t-ee");
    private Path dir;
    private Path fabricState;
    private ControlPlaneServer server;
    private Ec2Client ec2;
    private IamClient iam;
    private LambdaClient lambda;
    private Process node;
    private String vpc;
    private String subnet;

    @BeforeAll
    void start() throws Exception {
        assertThat(System.getProperty("user.name")).as("the fabric builds namespaces: run as root").isEqualTo("root");
        dir = Files.createTempDirectory("hp-function-e2e");
        fabricState = dir.resolve("fabric");
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir.resolve("data"), "127.0.0.1", 0, null, null, null)
                        .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ofSeconds(2))),
                new LabFabric(fabricState, PREFIX, line -> System.out.println("  " + line)));
        StaticCredentialsProvider credentials = AwsClients.credentials(server.defaultCredential());
        ec2 = AwsClients.ec2(server.endpoint(), credentials);
        iam = AwsClients.iam(server.endpoint(), credentials);
        lambda = AwsClients.lambda(server.endpoint(), credentials);
        // The fabric builds its underlay with the first VPC.
        vpc = ec2.createVpc(b -> b.cidrBlock("10.3.0.0/16")).vpc().vpcId();
        subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.3.1.0/24")).subnet().subnetId();
        server.syncFabric();
        for (String ns : made) {
            command("ip", "netns", "add", ns);
        }
        String underlay = LabFabric.underlayNamespace(PREFIX);
        join(made.get(0), underlay, "hp-tn", "198.18.0.1");
        LocalCloud.holdAnycast(made.get(0));
        join(made.get(1), underlay, "hp-th", "198.18.0.11");
        String java = ProcessHandle.current().info().command().orElseThrow();
        // The node process stays in this namespace (it reaches the control plane on loopback); only
        // its VXLAN socket is opened in the node's namespace on the underlay.
        node = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "node", "--control", server.endpoint().toString(), "--token-file", dir.resolve("data/node-token").toString(),
                "--netns", made.get(0), "--listen", LocalCloud.NODE_LISTEN, "--underlay-ip", "198.18.0.1", "--name", "tn1", "--flow-capacity", "10000",
                "--state-dir", dir.resolve("node").toString()).redirectErrorStream(true).redirectOutput(dir.resolve("node.log").toFile()).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !server.nodes().live().isEmpty());
    }

    @AfterAll
    void stop() throws Exception {
        if (node != null) {
            node.destroy();
            node.waitFor();
            System.out.println(Files.readString(dir.resolve("node.log")).lines().limit(40).reduce("node log:", (a, b) -> a + "\n  " + b));
        }
        Namespaces.killProcesses(made, Duration.ofSeconds(3));
        made.forEach(Namespaces::delete);
        try {
            for (AutoCloseable c : new AutoCloseable[] {lambda, iam, ec2, server}) {
                if (c != null) {
                    c.close();
                }
            }
        } finally {
            new Lab(fabricState, line -> { }).down(); // removes the fabric's namespaces even if closing failed
            Directories.deleteTree(dir);
        }
        String left = command("ip", "netns", "list");
        assertThat(left).as("every namespace this test made is gone").doesNotContain(PREFIX);
    }

    @Test
    void shouldCarryAFunctionsEnvironmentThroughItsSharedEniToADatabaseThatAdmitsOnlyTheFunctionsGroup() throws Exception {
        String fnGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("functions").description("functions")).groupId();
        String dbGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("db").description("db")).groupId();
        IpPermission fromFunctions = IpPermission.builder().ipProtocol("tcp").fromPort(8080).toPort(8080)
                .userIdGroupPairs(p -> p.groupId(fnGroup)).build();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(dbGroup).ipPermissions(fromFunctions));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nexec " + java + " -Xmx96m -cp " + System.getProperty("java.class.path") + " "
                + ServiceHostMain.class.getName() + " --http 8080\n";
        Instance db = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(dbGroup)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();

        String role = iam.createRole(b -> b.roleName("fn-role").assumeRolePolicyDocument(TRUST)).role().arn();
        iam.attachRolePolicy(b -> b.roleName("fn-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        lambda.createFunction(b -> b.functionName("query").role(role).runtime(Runtime.PROVIDED_AL2023).handler("bootstrap")
                .code(c -> c.zipFile(SdkBytes.fromByteArray(zip()))).vpcConfig(v -> v.subnetIds(subnet).securityGroupIds(fnGroup)));
        long created = System.nanoTime();
        lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("query"), AwsClients.promptly());
        System.out.printf("CreateFunction until Active (ENI programmed on the node): %d ms%n", (System.nanoTime() - created) / 1_000_000);
        NetworkInterface eni = ec2.describeNetworkInterfaces().networkInterfaces().getFirst();
        assertThat(server.nodes().live().getFirst().appliedVersion()).as("Active only once the live node runs the ENI")
                .isGreaterThanOrEqualTo(server.nodeConfig().versionWithEni(eni.networkInterfaceId()));

        // An execution environment, registered as a worker would; its VXLAN carries the VNI it was given.
        JsonNode ee = register("ee-1", "198.18.0.11", "100.64.0.11", "02:ee:00:00:00:01", eni.networkInterfaceId());
        int vni = ee.path("vni").asInt();
        String vx = "hp-vx" + (vni % 100000);
        command("ip", "-n", made.get(1), "link", "add", vx, "type", "vxlan", "id", Integer.toString(vni), "local", "198.18.0.11",
                "remote", "198.18.0.1", "dstport", "4789", "dev", "hp-ul0", "nolearning");
        command("ip", "-n", made.get(1), "link", "set", vx, "address", "02:ee:00:00:00:01");
        command("ip", "netns", "exec", made.get(1), "ethtool", "-K", vx, "tx", "off", "tso", "off", "gso", "off");
        command("ip", "-n", made.get(1), "link", "set", vx, "netns", made.get(2));
        command("ip", "-n", made.get(2), "link", "set", vx, "mtu", "1500", "up");
        command("ip", "-n", made.get(2), "link", "set", "lo", "up");
        command("ip", "-n", made.get(2), "address", "add", "100.64.0.11/24", "dev", vx);
        command("ip", "-n", made.get(2), "route", "add", "default", "via", "100.64.0.1");
        long eeVersion = ee.path("configVersion").asLong();
        await().atMost(Duration.ofSeconds(30)).until(() -> server.nodes().live().getFirst().appliedVersion() >= eeVersion);
        await().atMost(Duration.ofSeconds(30)).until(() -> ec2.describeInstances(b -> b.instanceIds(db.instanceId())).reservations().getFirst()
                .instances().getFirst().state().nameAsString().equals("running"));

        String target = db.privateIpAddress() + ":8080";
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> probe("http", target, "/whoami").path("ok").asBoolean());
        assertThat(probe("http", target, "/whoami").path("body").asText()).as("the database sees the shared ENI, not the EE")
                .startsWith(eni.privateIpAddress() + ":");

        // Security groups: removing the function group's egress reaches the node within a second;
        // the established connection keeps going, a new one is refused.
        CompletableFuture<JsonNode> established = CompletableFuture.supplyAsync(() -> probe("http-keepalive", target, "/whoami",
                "--count", "6", "--hold-ms", "700", "--timeout-ms", "3000"));
        awaitEstablished(target);
        long before = server.nodeConfig().current().version();
        ec2.revokeSecurityGroupEgress(b -> b.groupId(fnGroup).ipPermissions(p -> p.ipProtocol("-1").ipRanges(r -> r.cidrIp("0.0.0.0/0"))));
        long revoked = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
                server.nodeConfig().current().version() > before && server.nodes().live().getFirst().appliedVersion() >= server.nodeConfig().current().version());
        System.out.printf("security-group change applied on the node after %d ms%n", (System.nanoTime() - revoked) / 1_000_000);
        assertThat(probe("http", target, "/whoami", "--timeout-ms", "1500").path("ok").asBoolean()).as("a new flow after the revoke").isFalse();
        JsonNode kept = established.join();
        assertThat(kept.path("answered").asInt()).as("the tracked flow continues " + kept).isEqualTo(6);
        ec2.authorizeSecurityGroupEgress(b -> b.groupId(fnGroup).ipPermissions(p -> p.ipProtocol("-1").ipRanges(r -> r.cidrIp("0.0.0.0/0"))));
        await().atMost(Duration.ofSeconds(10)).until(() -> probe("http", target, "/whoami", "--timeout-ms", "1000").path("ok").asBoolean());

        // Network ACLs are stateless: a deny cuts the established flow too.
        String acl = ec2.describeNetworkAcls(b -> b.filters(f -> f.name("association.subnet-id").values(subnet))).networkAcls().getFirst().networkAclId();
        CompletableFuture<JsonNode> cut = CompletableFuture.supplyAsync(() -> probe("http-keepalive", target, "/whoami",
                "--count", "8", "--hold-ms", "700", "--timeout-ms", "1500"));
        awaitEstablished(target);
        ec2.createNetworkAclEntry(b -> b.networkAclId(acl).ruleNumber(50).egress(true).protocol("6").ruleAction("deny")
                .cidrBlock(db.privateIpAddress() + "/32").portRange(r -> r.from(8080).to(8080)));
        JsonNode afterDeny = cut.join();
        assertThat(afterDeny.path("answered").asInt()).as("the ACL cut the established flow " + afterDeny).isLessThan(8);
        ec2.deleteNetworkAclEntry(b -> b.networkAclId(acl).ruleNumber(50).egress(true));

        // The ENI view: the function, the EE, and the node's report of flows through the ENI.
        JsonNode view = enis();
        assertThat(view.path("NetworkInterfaces").get(0).path("Functions").get(0).asText()).isEqualTo("query:$LATEST");
        assertThat(view.path("NetworkInterfaces").get(0).path("ExecutionEnvironments").asInt()).isEqualTo(1);
        assertThat(view.path("Nodes").get(0).path("Live").asBoolean()).isTrue();
        assertThat(view.path("Nodes").get(0).path("ConfigStream").asBoolean()).as("the node takes its config over the stream").isTrue();

        // Cleanup through the APIs: EE gone, function deleted, ENI deleted after the grace period.
        assertThat(nodeApi("DELETE", "/hyperplane/v1/execution-environments/ee-1", null).statusCode()).isEqualTo(204);
        lambda.deleteFunction(b -> b.functionName("query"));
        await().atMost(Duration.ofSeconds(30)).until(() -> ec2.describeNetworkInterfaces().networkInterfaces().isEmpty());
        ec2.terminateInstances(b -> b.instanceIds(db.instanceId()));
        server.syncFabric();
    }

    private JsonNode register(String id, String host, String ip, String mac, String eni) throws Exception {
        HttpResponse<String> r = nodeApi("POST", "/hyperplane/v1/execution-environments",
                JSON.createObjectNode().put("id", id).put("hostIp", host).put("ip", ip).put("mac", mac).put("eniId", eni).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body());
    }

    private HttpResponse<String> nodeApi(String method, String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(server.endpoint().resolve(path))
                .header("Authorization", "Bearer " + server.nodeToken())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode enis() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = new CommandLine(new Main()).setOut(new PrintWriter(out, true))
                .execute("enis", "--endpoint", server.endpoint().toString(), "--credentials", dir.resolve("data/credentials").toString(), "--json");
        assertThat(code).isZero();
        return JSON.readTree(out.toString(StandardCharsets.UTF_8));
    }

    private JsonNode probe(String... args) {
        try {
            String java = ProcessHandle.current().info().command().orElseThrow();
            List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", made.get(2), java, "-cp", System.getProperty("java.class.path"),
                    ProbeMain.class.getName()));
            command.addAll(List.of(args));
            if (!List.of(args).contains("--timeout-ms")) {
                command.addAll(List.of("--timeout-ms", "2000"));
            }
            Process p = new ProcessBuilder(command).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return JSON.readTree(out.lines().filter(l -> l.startsWith("{")).findFirst().orElse("{}"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static byte[] zip() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("bootstrap"));
            zip.write("#!/bin/sh\n".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void join(String ns, String underlay, String peer, String ip) throws IOException, InterruptedException {
        LocalCloud.joinUnderlay(ns, underlay, peer, ip);
    }

    private static String command(String... args) throws IOException, InterruptedException {
        return LocalCloud.run(args);
    }

    /** Until the EE has a connection established to {@code target}: the keep-alive probe's flow exists. */
    private void awaitEstablished(String target) {
        await().atMost(Duration.ofSeconds(20)).until(() ->
                !command("ip", "netns", "exec", made.get(2), "ss", "-Htn", "state", "established", "dst", target).isBlank());
    }
}
