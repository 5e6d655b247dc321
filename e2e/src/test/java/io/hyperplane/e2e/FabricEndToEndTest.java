package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cli.Main;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.config.fleet.FleetPlan;
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
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.IpPermission;
import software.amazon.awssdk.services.ec2.model.IpRange;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Issue 3's fabric for real: VPCs, subnets and instances made through the EC2 API become
 * namespaces, bridges and nftables rules; an instance's UserData starts a server another instance
 * reaches across subnets; revoking the ingress rule stops new connections but not an established
 * one; a NACL deny between the subnets blocks traffic; deleting everything leaves nothing behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class FabricEndToEndTest {
    private static final String PREFIX = "hp-ft-";
    private Path fabricState;
    private ControlPlaneServer.Settings settings;
    private ControlPlaneServer server;
    private Ec2Client ec2;
    private Lab fabricLab;
    private Path dir;

    @BeforeAll
    void start() throws IOException {
        assertThat(System.getProperty("user.name")).as("the fabric builds namespaces: run as root").isEqualTo("root");
        dir = Files.createTempDirectory("hp-fabric-e2e");
        fabricState = dir.resolve("fabric");
        settings = new ControlPlaneServer.Settings(dir.resolve("data"), "127.0.0.1", 0, null, null, null);
        startServer();
        fabricLab = new Lab(fabricState, line -> { });
    }

    private void startServer() throws IOException {
        server = ControlPlaneServer.start(settings, new LabFabric(fabricState, PREFIX, line -> System.out.println("  " + line)));
        ec2 = AwsClients.ec2(server.endpoint(), AwsClients.credentials(server.defaultCredential()));
    }

    @AfterAll
    void stop() throws IOException {
        if (ec2 != null) {
            ec2.close();
        }
        if (server != null) {
            server.close();
        }
        new Lab(fabricState, line -> { }).down();
        Directories.deleteTree(dir);
        Process list = new ProcessBuilder("ip", "netns", "list").start();
        assertThat(new String(list.getInputStream().readAllBytes())).as("namespaces left behind").doesNotContain(PREFIX);
    }

    private JsonNode probe(String instanceId, String... args) {
        return fabricLab.probe(LabFabric.instanceNamespace(PREFIX, instanceId), args);
    }

    private Instance instance(String id) {
        return ec2.describeInstances(b -> b.instanceIds(id)).reservations().getFirst().instances().getFirst();
    }

    @Test
    void shouldTurnTheApiIntoRealNetworks() {
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
        String s1 = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24")).subnet().subnetId();
        String s2 = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.2.0/24")).subnet().subnetId();
        String web = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("web").description("http")).groupId();
        IpPermission http = IpPermission.builder().ipProtocol("tcp").fromPort(8080).toPort(8080)
                .ipRanges(IpRange.builder().cidrIp("10.0.0.0/16").build()).build();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(web).ipPermissions(http));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nexec " + java + " -Xmx96m -cp " + System.getProperty("java.class.path") + " "
                + ServiceHostMain.class.getName() + " --http 8080\n";

        long launched = System.nanoTime();
        Instance a = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(s1).securityGroupIds(web)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        Instance b = ec2.runInstances(r -> r.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(s2)).instances().getFirst();
        assertThat(a.state().nameAsString()).isEqualTo("pending");
        assertThat(a.privateIpAddress()).as("the first address after the four AWS reserves").isEqualTo("10.0.1.4");
        await().atMost(Duration.ofSeconds(30)).until(() -> instance(a.instanceId()).state().nameAsString().equals("running")
                && instance(b.instanceId()).state().nameAsString().equals("running"));

        // UserData's server answers, across the VPC router, and sees the other instance's address.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                probe(b.instanceId(), "http", a.privateIpAddress() + ":8080", "/whoami", "--timeout-ms", "1000").path("ok").asBoolean());
        System.out.printf("RunInstances until the UserData server answered: %d ms%n", (System.nanoTime() - launched) / 1_000_000);
        assertThat(probe(b.instanceId(), "http", a.privateIpAddress() + ":8080", "/whoami").path("body").asText())
                .startsWith(b.privateIpAddress() + ":");

        // Revoke: an established connection survives (connection tracking), new ones fail.
        CompletableFuture<JsonNode> established = CompletableFuture.supplyAsync(() -> probe(b.instanceId(), "http-keepalive",
                a.privateIpAddress() + ":8080", "/whoami", "--count", "6", "--hold-ms", "1000", "--timeout-ms", "3000"));
        String fromB = LabFabric.instanceNamespace(PREFIX, b.instanceId());
        await().atMost(Duration.ofSeconds(20)).until(() ->
                !run(fromB, "ss", "-Htn", "state", "established", "dst", a.privateIpAddress() + ":8080").isBlank());
        ec2.revokeSecurityGroupIngress(r -> r.groupId(web).ipPermissions(http));
        server.syncFabric();
        JsonNode fresh = probe(b.instanceId(), "http", a.privateIpAddress() + ":8080", "/whoami", "--timeout-ms", "1500");
        assertThat(fresh.path("ok").asBoolean()).as("a new connection after the revoke " + fresh).isFalse();
        JsonNode kept = established.join();
        assertThat(kept.path("answered").asInt()).as("the established connection kept working " + kept).isEqualTo(6);
        ec2.authorizeSecurityGroupIngress(r -> r.groupId(web).ipPermissions(http));
        server.syncFabric();
        assertThat(probe(b.instanceId(), "http", a.privateIpAddress() + ":8080", "/whoami", "--timeout-ms", "3000").path("ok").asBoolean()).isTrue();

        // A network ACL deny between the subnets blocks traffic; removing it restores it.
        String acl = ec2.describeNetworkAcls(r -> r.filters(f -> f.name("vpc-id").values(vpc))).networkAcls().getFirst().networkAclId();
        ec2.createNetworkAclEntry(r -> r.networkAclId(acl).ruleNumber(50).egress(false).protocol("-1").ruleAction("deny").cidrBlock("10.0.2.0/24"));
        server.syncFabric();
        assertThat(probe(b.instanceId(), "http", a.privateIpAddress() + ":8080", "/whoami", "--timeout-ms", "1500").path("ok").asBoolean()).isFalse();
        ec2.deleteNetworkAclEntry(r -> r.networkAclId(acl).ruleNumber(50).egress(false));
        server.syncFabric();
        assertThat(probe(b.instanceId(), "http", a.privateIpAddress() + ":8080", "/whoami", "--timeout-ms", "3000").path("ok").asBoolean()).isTrue();

        // A VPC with instances cannot go; after terminating them everything can, and nothing is left.
        Ec2Exception busy = catchThrowableOfType(Ec2Exception.class, () -> ec2.deleteSubnet(r -> r.subnetId(s1)));
        assertThat(busy.awsErrorDetails().errorCode()).isEqualTo("DependencyViolation");
        Ec2Exception busyVpc = catchThrowableOfType(Ec2Exception.class, () -> ec2.deleteVpc(r -> r.vpcId(vpc)));
        assertThat(busyVpc.awsErrorDetails().errorCode()).isEqualTo("DependencyViolation");
        ec2.terminateInstances(r -> r.instanceIds(a.instanceId(), b.instanceId()));
        server.syncFabric();
        assertThat(instance(a.instanceId()).state().nameAsString()).isEqualTo("terminated");
        for (String subnet : List.of(s1, s2)) {
            ec2.deleteSubnet(r -> r.subnetId(subnet));
        }
        ec2.deleteSecurityGroup(r -> r.groupId(web));
        ec2.deleteVpc(r -> r.vpcId(vpc));
        server.syncFabric();
        assertThat(Namespaces.list()).as("the fabric removed this VPC's namespaces")
                .doesNotContain(PREFIX + vpc, LabFabric.instanceNamespace(PREFIX, a.instanceId()), LabFabric.instanceNamespace(PREFIX, b.instanceId()));
    }

    /** A rule naming a group admits that group's members as they come: here one launched after the rule. */
    @Test
    void shouldAdmitMembersOfAReferencedGroupAsTheyJoin() {
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.3.0.0/16")).vpc().vpcId();
        String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.3.1.0/24")).subnet().subnetId();
        String clients = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("clients").description("may call db")).groupId();
        String db = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("db").description("database")).groupId();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(db).ipPermissions(IpPermission.builder().ipProtocol("tcp").fromPort(8080).toPort(8080)
                .userIdGroupPairs(p -> p.groupId(clients)).build()));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nexec " + java + " -Xmx96m -cp " + System.getProperty("java.class.path") + " "
                + ServiceHostMain.class.getName() + " --http 8080\n";
        Instance server1 = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(db)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        Instance outsider = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet)).instances().getFirst();
        server.syncFabric();
        String target = server1.privateIpAddress() + ":8080";
        // The service is up (it answers its own namespace), yet an instance outside "clients" is refused.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .until(() -> probe(server1.instanceId(), "http", "127.0.0.1:8080", "/whoami", "--timeout-ms", "1000").path("ok").asBoolean());
        assertThat(probe(outsider.instanceId(), "http", target, "/whoami", "--timeout-ms", "1500").path("ok").asBoolean()).isFalse();

        Instance member = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet)
                .securityGroupIds(clients)).instances().getFirst();
        server.syncFabric();

        assertThat(probe(member.instanceId(), "http", target, "/whoami", "--timeout-ms", "3000").path("ok").asBoolean())
                .as("a new member of the referenced group is admitted").isTrue();
        assertThat(probe(outsider.instanceId(), "http", target, "/whoami", "--timeout-ms", "1500").path("ok").asBoolean()).isFalse();
        ec2.terminateInstances(b -> b.instanceIds(server1.instanceId(), outsider.instanceId(), member.instanceId()));
        server.syncFabric();
        ec2.deleteSubnet(b -> b.subnetId(subnet));
        ec2.deleteSecurityGroup(b -> b.groupId(db));
        ec2.deleteSecurityGroup(b -> b.groupId(clients));
        ec2.deleteVpc(b -> b.vpcId(vpc));
        server.syncFabric();
    }

    @Test
    void shouldAdoptItsNetworksAfterARestart() throws Exception {
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.1.0.0/16")).vpc().vpcId();
        String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.1.1.0/24")).subnet().subnetId();
        // The instance's own /root (its sandbox sees no host file), read through its process's root.
        String userData = "#!/bin/sh\necho ran >> /root/runs\nexec sleep 600\n";
        String id = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst().instanceId();
        String ns = LabFabric.instanceNamespace(PREFIX, id);

        await().atMost(Duration.ofSeconds(30)).until(() -> instance(id).state().nameAsString().equals("running")
                && !userDataProcesses(ns).isEmpty());
        List<Long> before = userDataProcesses(ns);

        ec2.close();
        server.close(); // a stop, not a teardown: the networks stay
        startServer();

        assertThat(instance(id).state().nameAsString()).isEqualTo("running");
        assertThat(userDataProcesses(ns)).as("the instance's processes were not restarted").isEqualTo(before);
        Path runs = Path.of("/proc", Long.toString(before.getFirst()), "root", "root", "runs");
        assertThat(Files.readAllLines(runs)).as("UserData ran once").hasSize(1);

        ec2.terminateInstances(b -> b.instanceIds(id));
        server.syncFabric();
        ec2.deleteSubnet(b -> b.subnetId(subnet));
        ec2.deleteVpc(b -> b.vpcId(vpc));
        server.syncFabric();
        assertThat(Namespaces.list()).doesNotContain(ns, PREFIX + vpc);
    }

    /** The instance's long-running UserData process ("sleep 600"), not the fabric's passing nft runs. */
    private static List<Long> userDataProcesses(String ns) {
        return Namespaces.pids(ns).stream().filter(pid -> {
            try {
                return Files.readString(Path.of("/proc/" + pid + "/cmdline")).contains("sleep");
            } catch (IOException e) {
                return false; // gone already
            }
        }).sorted().toList();
    }


    /**
     * Issues 2 and 3 together: a forwarder node and an execution environment join the fabric's
     * underlay; the node is given an ENI in a subnet made through the EC2 API; the EE reaches an
     * instance in that subnet, which sees the ENI's address. The subnet's VXLAN toward the node is
     * the fabric's doing.
     */
    @Test
    void shouldLetAForwarderNodeCarryAnEeIntoAnApiSubnet() throws Exception {
        server.forwarderNodes().register("tn1", "198.18.0.1");
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.2.0.0/16")).vpc().vpcId();
        String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.2.1.0/24")).subnet().subnetId();
        String web = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("web").description("http")).groupId();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(web).ipPermissions(IpPermission.builder().ipProtocol("tcp").fromPort(8080)
                .toPort(8080).ipRanges(IpRange.builder().cidrIp("10.2.0.0/16").build()).build()));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nexec " + java + " -Xmx96m -cp " + System.getProperty("java.class.path") + " "
                + ServiceHostMain.class.getName() + " --http 8080\n";
        Instance target = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(web)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        server.syncFabric();

        String router = PREFIX + vpc;
        String vtep = Ec2Lines.field(run(router, "ip", "-4", "-o", "addr", "show", "dev", "hp-ul0"), 3).split("/")[0];
        String vxlan = run(router, "ip", "-o", "link", "show", "type", "vxlan").split(":")[1].trim().split("@")[0];
        int vni = Integer.parseInt(vxlan.substring("hp-vx".length()));
        assertThat(run(router, "bridge", "fdb", "show", "dev", vxlan)).as("the subnet's tunnel goes to the fleet's anycast address")
                .contains("dst " + FleetPlan.ANYCAST).doesNotContain("dst 198.18.0.1");

        String underlay = LabFabric.underlayNamespace(PREFIX);
        List<String> made = List.of(PREFIX + "t-node", PREFIX + "t-host", PREFIX + "t-ee");
        Path dir = Files.createTempDirectory("hp-fabric-node");
        try {
            for (String ns : made) {
                command("ip", "netns", "add", ns);
            }
            join(made.get(0), underlay, "hp-tn", "198.18.0.1");
            LocalCloud.holdAnycast(made.get(0)); // where the router's tunnel goes
            join(made.get(1), underlay, "hp-th", "198.18.0.11");
            command("ip", "-n", made.get(1), "link", "add", "hp-vx5001", "type", "vxlan", "id", "5001", "local", "198.18.0.11",
                    "remote", "198.18.0.1", "dstport", "4789", "dev", "hp-ul0", "nolearning");
            command("ip", "-n", made.get(1), "link", "set", "hp-vx5001", "address", "02:ee:00:00:00:01");
            command("ip", "netns", "exec", made.get(1), "ethtool", "-K", "hp-vx5001", "tx", "off", "tso", "off", "gso", "off");
            command("ip", "-n", made.get(1), "link", "set", "hp-vx5001", "netns", made.get(2));
            command("ip", "-n", made.get(2), "link", "set", "hp-vx5001", "mtu", "1500", "up");
            command("ip", "-n", made.get(2), "link", "set", "lo", "up");
            command("ip", "-n", made.get(2), "address", "add", "100.64.0.11/24", "dev", "hp-vx5001");
            command("ip", "-n", made.get(2), "route", "add", "default", "via", "100.64.0.1");

            NodeSnapshot snapshot = new NodeSnapshot(1, new NodeSnapshot.Gateway("100.64.0.1", "02:48:50:00:00:01"),
                    List.of(new NodeSnapshot.Vpc(vpc, "10.2.0.0/16")),
                    List.of(new NodeSnapshot.Subnet(subnet, vpc, "10.2.1.0/24", vni, vtep, "acl", "rtb")),
                    List.of(new NodeSnapshot.SecurityGroup("sg-fn", List.of(new NodeSnapshot.SecurityGroupRule("tcp", 8080, 8080, "10.2.0.0/16", null)), List.of())),
                    List.of(new NodeSnapshot.NetworkAcl("acl", List.of(new NodeSnapshot.NetworkAclEntry(100, true, "-1", "allow", "0.0.0.0/0", 0, 0, -1, -1),
                            new NodeSnapshot.NetworkAclEntry(100, false, "-1", "allow", "0.0.0.0/0", 0, 0, -1, -1)))),
                    List.of(new NodeSnapshot.RouteTable("rtb", List.of(new NodeSnapshot.Route("10.2.0.0/16", "local")))),
                    List.of(new NodeSnapshot.Eni("eni-fabric", "10.2.1.200", "02:48:50:00:02:00", subnet, List.of("sg-fn"))),
                    List.of(new NodeSnapshot.ExecutionEnvironment("ee-1", 5001, "198.18.0.11", "100.64.0.11", "02:ee:00:00:00:01", "eni-fabric")));
            Path config = dir.resolve("node.json");
            SnapshotJson.writeAtomically(snapshot, config);
            List<String> node = new ArrayList<>(List.of("ip", "netns", "exec", made.get(0), java, "--enable-native-access=ALL-UNNAMED",
                    "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "node", "--config", config.toString(),
                    "--listen", LocalCloud.NODE_LISTEN, "--name", "tn1", "--flow-capacity", "10000"));
            Process nodeProcess = new ProcessBuilder(node).redirectErrorStream(true).redirectOutput(dir.resolve("node.log").toFile()).start();
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(dir.resolve("node.log")).contains("ready"));
            await().atMost(Duration.ofSeconds(30)).until(() -> instance(target.instanceId()).state().nameAsString().equals("running"));

            // Every probe runs inside the EE's namespace: test traffic never leaves the lab.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> probeIn(made.get(2), target.privateIpAddress()).path("ok").asBoolean());
            JsonNode whoami = probeIn(made.get(2), target.privateIpAddress());
            assertThat(whoami.path("body").asText()).as("the instance sees the ENI, not the EE").startsWith("10.2.1.200:");
            nodeProcess.destroy();
            nodeProcess.waitFor();
        } finally {
            Namespaces.killProcesses(made, Duration.ofSeconds(3));
            made.forEach(Namespaces::delete);
            server.forwarderNodes().remove("tn1");
            Directories.deleteTree(dir); // the node's state
        }
        ec2.terminateInstances(b -> b.instanceIds(target.instanceId()));
        server.syncFabric();
        ec2.deleteSubnet(b -> b.subnetId(subnet));
        ec2.deleteSecurityGroup(b -> b.groupId(web));
        ec2.deleteVpc(b -> b.vpcId(vpc));
        server.syncFabric();
    }

    private static JsonNode probeIn(String namespace, String ip) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder("ip", "netns", "exec", namespace, java, "-cp", System.getProperty("java.class.path"),
                ProbeMain.class.getName(), "http", ip + ":8080", "/whoami", "--timeout-ms", "2000").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return new ObjectMapper().readTree(out.lines().filter(l -> l.startsWith("{")).findFirst().orElse("{}"));
    }

    private static void join(String ns, String underlay, String peer, String ip) throws IOException, InterruptedException {
        LocalCloud.joinUnderlay(ns, underlay, peer, ip);
    }

    private static String run(String ns, String... args) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(args));
        return command(full.toArray(String[]::new));
    }

    private static String command(String... args) throws IOException, InterruptedException {
        return LocalCloud.run(args);
    }

    /** Whitespace-separated fields of `ip -o` output. */
    private static final class Ec2Lines {
        static String field(String line, int index) {
            return line.trim().split("\\s+")[index];
        }
    }
}
