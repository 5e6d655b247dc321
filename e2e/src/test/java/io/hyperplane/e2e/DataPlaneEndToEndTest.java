package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.cli.Main;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.LabStatus;
import io.hyperplane.lab.NodeLauncher;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.spec.LabSpecYaml;
import io.hyperplane.linux.Directories;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.node.CountersFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The data plane for real (issue 2, §6): the default lab's namespaces, kernel VXLAN devices in
 * the worker host and the VPC router, our forwarder node in its own namespace, real services,
 * real TCP, UDP and ICMP; and the simulated internet, reached by the EE bound to the service egress.
 * Needs root; everything it creates carries the "hp-e2e-" prefix and is
 * removed by exact name afterwards, also when a test fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class DataPlaneEndToEndTest {
    private static final String PREFIX = "hp-e2e-";
    private static final String ENI = "10.0.1.4";
    private static final String RES1 = "10.0.1.10";
    private static final String RES2 = "10.0.2.10";
    private static final String INTERNET_HOST = "203.0.113.10";
    private static final String SERVICE_EGRESS = "192.0.2.10";
    private static final Duration PROBE = Duration.ofSeconds(20);

    private Path stateRoot;
    private Lab lab;
    private LabStatus status;
    private Path nodeConfig;
    private NodeSnapshot original;

    @BeforeAll
    void up() throws IOException {
        assertThat(System.getProperty("user.name")).as("the end-to-end tests build namespaces: run them as root").isEqualTo("root");
        stateRoot = Files.createTempDirectory("hp-e2e");
        LabSpec spec = LabSpecYaml.defaultSpec().withPrefix(PREFIX);
        lab = new Lab(stateRoot.resolve("lab"), line -> System.out.println("  " + line));
        status = lab.up(spec, NodeLauncher.currentJvm(Main.class.getName(), "node"));
        nodeConfig = Path.of(status.nodes().getFirst().config());
        original = SnapshotJson.read(nodeConfig);
    }

    @AfterAll
    void down() {
        if (lab != null) {
            lab.down();
        }
        try {
            Directories.deleteTree(stateRoot);
        } catch (IOException e) {
            System.out.println("removing " + stateRoot + ": " + e.getMessage());
        }
        Set<String> left = new HashSet<>(Namespaces.list());
        assertThat(left).as("namespaces left behind").noneMatch(n -> n.startsWith(PREFIX));
    }


    private String ns(String name) {
        return PREFIX + name;
    }

    private CountersFile.Snapshot counters() throws IOException {
        return CountersFile.read(Path.of(status.nodes().getFirst().counters()));
    }

    private long counter(Counter c) throws IOException {
        return counters().get(c);
    }

    private JsonNode probe(String namespace, String... args) {
        return lab.probe(ns(namespace), args);
    }

    private ExecResult exec(String namespace, String... command) {
        return lab.exec(ns(namespace), PROBE, command);
    }

    /** Rewrites the node's config (version + 1), waits until the node runs it, returns a restorer. */
    private AutoCloseable reconfigure(UnaryOperator<NodeSnapshot> change) throws IOException {
        NodeSnapshot current = SnapshotJson.read(nodeConfig);
        NodeSnapshot next = change.apply(current);
        NodeSnapshot versioned = new NodeSnapshot(current.version() + 1, next.eeGateway(), next.vpcs(), next.subnets(),
                next.securityGroups(), next.networkAcls(), next.routeTables(), next.enis(), next.executionEnvironments());
        apply(versioned);
        return () -> {
            NodeSnapshot now = SnapshotJson.read(nodeConfig);
            apply(new NodeSnapshot(now.version() + 1, original.eeGateway(), original.vpcs(), original.subnets(),
                    original.securityGroups(), original.networkAcls(), original.routeTables(), original.enis(),
                    original.executionEnvironments()));
        };
    }

    private void apply(NodeSnapshot snapshot) throws IOException {
        SnapshotJson.writeAtomically(snapshot, nodeConfig);
        await().atMost(Duration.ofSeconds(10)).until(() -> counter(Counter.CONFIG_VERSION) == snapshot.version());
    }

    @Test
    void shouldReachResourcesInBothSubnetsFromTwoEesAsTheEniAddress() throws IOException {
        long flowsBefore = counter(Counter.FLOWS_CREATED);
        for (String ee : List.of("ee1", "ee2")) {
            for (String resource : List.of(RES1, RES2)) {
                JsonNode whoami = probe(ee, "http", resource + ":80", "/whoami", "--timeout-ms", "5000");
                assertThat(whoami.path("ok").asBoolean()).as(ee + " -> " + resource + " " + whoami).isTrue();
                assertThat(whoami.path("body").asText()).as("the server sees the shared ENI").startsWith(ENI + ":");
                JsonNode echo = probe(ee, "tcp", resource + ":5432", "--send", "hello from " + ee, "--timeout-ms", "5000");
                assertThat(echo.path("reply").asText()).as(echo.toString()).isEqualTo("hello from " + ee);
            }
        }
        assertThat(counter(Counter.FLOWS_CREATED) - flowsBefore).isGreaterThanOrEqualTo(8);
        assertThat(counters().natPortsByEni().keySet()).anyMatch(eni -> eni.startsWith(ENI + " vni "));
    }

    @Test
    void shouldCarryUdpAndPing() throws IOException {
        JsonNode udp = probe("ee1", "udp", RES1 + ":53", "--send", "query", "--timeout-ms", "5000");
        assertThat(udp.path("reply").asText()).as(udp.toString()).isEqualTo("query");
        JsonNode udp2 = probe("ee3", "udp", RES2 + ":53", "--send", "other subnet", "--timeout-ms", "5000");
        assertThat(udp2.path("reply").asText()).as(udp2.toString()).isEqualTo("other subnet");
        for (String target : List.of(RES1, RES2)) {
            ExecResult ping = exec("ee2", "ping", "-n", "-c", "2", "-W", "3", target);
            assertThat(ping.exitCode()).as(ping.stdout() + ping.stderr()).isZero();
        }
    }

    @Test
    void shouldTakeAnEeBoundToTheServiceEgressToTheInternetAsTheEgressAddress() {
        JsonNode whoami = probe("ee4", "http", INTERNET_HOST + ":80", "/whoami", "--timeout-ms", "5000");
        JsonNode echo = probe("ee4", "tcp", INTERNET_HOST + ":7", "--send", "out", "--timeout-ms", "5000");
        JsonNode udp = probe("ee4", "udp", INTERNET_HOST + ":53", "--send", "query", "--timeout-ms", "5000");

        assertThat(whoami.path("body").asText()).as("the internet sees the service egress, never an EE: " + whoami)
                .matches(Pattern.quote(SERVICE_EGRESS) + ":\\d+\n");
        assertThat(echo.path("reply").asText()).as(echo.toString()).isEqualTo("out");
        assertThat(udp.path("reply").asText()).as(udp.toString()).isEqualTo("query");
    }

    @Test
    void shouldKeepTheServiceEgressOutOfTheVpc() throws IOException {
        long refused = counter(Counter.DROP_RESERVED_DESTINATION);

        JsonNode vpc = probe("ee4", "http", RES1 + ":80", "/whoami", "--timeout-ms", "1500");

        assertThat(vpc.path("ok").asBoolean()).as(vpc.toString()).isFalse();
        assertThat(counter(Counter.DROP_RESERVED_DESTINATION)).isGreaterThan(refused);
    }

    @Test
    void shouldKeepAVpcEeWithoutAWayOutOffTheInternet() {
        // eni-1's group allows only the VPC, and its route table has no gateway: nothing gets out.
        JsonNode out = probe("ee1", "http", INTERNET_HOST + ":80", "/whoami", "--timeout-ms", "1500");

        assertThat(out.path("ok").asBoolean()).as(out.toString()).isFalse();
    }

    @Test
    void shouldTimeOutOnAPortTheSecurityGroupDoesNotAllow() throws IOException {
        // The service is there: a host inside the VPC reaches it.
        JsonNode inside = probe("res2", "tcp", RES1 + ":7", "--send", "ping", "--timeout-ms", "5000");
        assertThat(inside.path("reply").asText()).as(inside.toString()).isEqualTo("ping");
        long denied = counter(Counter.DROP_SG_DENY);

        JsonNode blocked = probe("ee1", "tcp", RES1 + ":7", "--send", "ping", "--timeout-ms", "1500");

        assertThat(blocked.path("ok").asBoolean()).isFalse();
        assertThat(blocked.path("error").asText()).isEqualTo("timeout");
        assertThat(counter(Counter.DROP_SG_DENY)).isGreaterThan(denied);
    }

    @Test
    void shouldApplyNetworkAclDenyRulesInEitherDirection() throws Exception {
        var denyOut = new NodeSnapshot.NetworkAclEntry(50, true, "tcp", "deny", RES1 + "/32", 5432, 5432, -1, -1);
        var denyIn = new NodeSnapshot.NetworkAclEntry(50, false, "-1", "deny", RES2 + "/32", 0, 0, -1, -1);
        try (AutoCloseable restore = reconfigure(s -> withAclEntries(s, denyOut, denyIn))) {
            long before = counter(Counter.DROP_NACL_DENY);
            JsonNode out = probe("ee1", "tcp", RES1 + ":5432", "--send", "x", "--timeout-ms", "1500");
            assertThat(out.path("error").asText()).as(out.toString()).isEqualTo("timeout");
            long afterOutbound = counter(Counter.DROP_NACL_DENY);
            assertThat(afterOutbound).isGreaterThan(before);

            JsonNode in = probe("ee1", "http", RES2 + ":80", "/whoami", "--timeout-ms", "1500");
            assertThat(in.path("ok").asBoolean()).as(in.toString()).isFalse();
            assertThat(counter(Counter.DROP_NACL_DENY)).as("the reply was dropped inbound").isGreaterThan(afterOutbound);

            JsonNode other = probe("ee1", "http", RES1 + ":80", "/whoami", "--timeout-ms", "5000");
            assertThat(other.path("ok").asBoolean()).as("unrelated traffic still flows " + other).isTrue();
        }
        JsonNode restored = probe("ee1", "tcp", RES1 + ":5432", "--send", "back", "--timeout-ms", "5000");
        assertThat(restored.path("reply").asText()).isEqualTo("back");
    }

    private static NodeSnapshot withAclEntries(NodeSnapshot s, NodeSnapshot.NetworkAclEntry... extra) {
        List<NodeSnapshot.NetworkAcl> acls = new ArrayList<>();
        for (NodeSnapshot.NetworkAcl acl : s.networkAcls()) {
            List<NodeSnapshot.NetworkAclEntry> entries = new ArrayList<>(acl.entries());
            entries.addAll(List.of(extra));
            acls.add(new NodeSnapshot.NetworkAcl(acl.id(), entries));
        }
        return new NodeSnapshot(s.version(), s.eeGateway(), s.vpcs(), s.subnets(), s.securityGroups(), acls,
                s.routeTables(), s.enis(), s.executionEnvironments());
    }

    @Test
    void shouldDropTrafficToADestinationWithNoRoute() throws Exception {
        try (AutoCloseable restore = reconfigure(s -> new NodeSnapshot(s.version(), s.eeGateway(), s.vpcs(), s.subnets(),
                s.securityGroups(), s.networkAcls(),
                s.routeTables().stream().map(t -> new NodeSnapshot.RouteTable(t.id(),
                        List.of(new NodeSnapshot.Route("10.0.1.0/24", "local")))).toList(),
                s.enis(), s.executionEnvironments()))) {
            long before = counter(Counter.DROP_NO_ROUTE);
            JsonNode result = probe("ee2", "tcp", RES2 + ":5432", "--send", "x", "--timeout-ms", "1500");
            assertThat(result.path("error").asText()).isEqualTo("timeout");
            assertThat(counter(Counter.DROP_NO_ROUTE)).isGreaterThan(before);
        }
    }

    @Test
    void shouldNotLetAnythingInTheVpcOpenAConnectionToAnEeOrTheEni() throws Exception {
        long before = counter(Counter.DROP_NO_FLOW);
        // Each attempt waits out its timeout: all at once.
        try (ExecutorService attempts = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<JsonNode> toEni = attempts.submit(() -> probe("res1", "tcp", ENI + ":80", "--send", "x", "--timeout-ms", "1500"));
            Future<JsonNode> toEniUdp = attempts.submit(() -> probe("res1", "udp", ENI + ":53", "--send", "x", "--timeout-ms", "1000"));
            Future<ExecResult> ping = attempts.submit(() -> exec("res1", "ping", "-n", "-c", "1", "-W", "1", ENI));
            Future<JsonNode> toEe = attempts.submit(() -> probe("res1", "tcp", "100.64.0.11:80", "--send", "x", "--timeout-ms", "1500"));
            assertThat(toEni.get().path("ok").asBoolean()).as(toEni.get().toString()).isFalse();
            assertThat(toEniUdp.get().path("ok").asBoolean()).isFalse();
            assertThat(ping.get().exitCode()).isNotZero();
            assertThat(toEe.get().path("ok").asBoolean()).isFalse();
        }
        assertThat(counter(Counter.DROP_NO_FLOW)).isGreaterThanOrEqualTo(before + 3);
    }

    @Test
    void shouldDropAnEeThatForgesItsInnerSourceAddress() throws IOException {
        long before = counter(Counter.DROP_SPOOF);
        String device = exec("ee1", "ip", "-o", "link", "show", "type", "vxlan").stdout().split(":")[1].trim().split("@")[0];
        assertThat(exec("ee1", "ip", "addr", "add", "100.64.0.99/32", "dev", device).exitCode()).isZero();
        try {
            ExecResult forged = exec("ee1", "ping", "-n", "-c", "2", "-W", "1", "-I", "100.64.0.99", RES1);
            assertThat(forged.exitCode()).isNotZero();
            assertThat(counter(Counter.DROP_SPOOF)).isGreaterThanOrEqualTo(before + 2);
        } finally {
            exec("ee1", "ip", "addr", "del", "100.64.0.99/32", "dev", device);
        }
        assertThat(exec("ee1", "ping", "-n", "-c", "1", "-W", "3", RES1).exitCode()).as("the honest address still works").isZero();
    }

    @Test
    void shouldDropAnUnknownVni() throws IOException {
        long before = counter(Counter.DROP_UNKNOWN_VNI);
        String host = "host1";
        String underlay = exec(host, "ip", "-o", "-4", "addr", "show", "to", "198.18.0.11").stdout().trim().split("\\s+")[1];
        ExecResult add = exec(host, "ip", "link", "add", "hp-vx5999", "type", "vxlan", "id", "5999", "local", "198.18.0.11",
                "remote", "198.18.0.1", "dstport", "4789", "dev", underlay);
        assertThat(add.exitCode()).as(add.stderr()).isZero();
        try {
            exec(host, "ip", "addr", "add", "100.99.0.1/24", "dev", "hp-vx5999");
            exec(host, "ip", "link", "set", "hp-vx5999", "up");
            ExecResult ping = exec(host, "ping", "-n", "-c", "2", "-W", "1", "100.99.0.2");
            assertThat(ping.exitCode()).isNotZero();
            assertThat(counter(Counter.DROP_UNKNOWN_VNI)).isGreaterThan(before);
        } finally {
            exec(host, "ip", "link", "del", "hp-vx5999");
        }
    }

    @Test
    void shouldGiveTenThousandConcurrentConnectionsDistinctTranslations() {
        int[] counts = {3334, 3333, 3333};
        List<CompletableFuture<JsonNode>> runs = new ArrayList<>();
        // One thread per EE: all three probes must hold their connections at the same time.
        ExecutorService threads = Executors.newFixedThreadPool(counts.length);
        for (int i = 0; i < counts.length; i++) {
            String ee = "ee" + (i + 1);
            String count = String.valueOf(counts[i]);
            runs.add(CompletableFuture.supplyAsync(() -> probe(ee, "connect-many", RES1 + ":80", "--count", count,
                    "--hold-ms", "5000", "--timeout-ms", "60000"), threads));
        }
        threads.shutdown();
        Set<String> translations = new HashSet<>();
        for (CompletableFuture<JsonNode> run : runs) {
            JsonNode result = run.join();
            assertThat(result.path("answered").asInt()).as(result.toString()).isEqualTo(result.path("requested").asInt());
            assertThat(result.path("peerIps")).hasSize(1);
            assertThat(result.path("peerIps").get(0).asText()).isEqualTo(ENI);
            result.path("peers").forEach(p -> translations.add(p.asText()));
        }
        assertThat(translations).as("distinct (ENI address, port) pairs seen by the server").hasSize(10_000);
    }

    @Test
    void shouldSurviveAFloodOfGarbageOnItsUdpPortAndKeepForwarding() throws IOException {
        long malformed = counter(Counter.DROP_MALFORMED);
        JsonNode flood = probe("host1", "flood", "198.18.0.1:4789", "--count", "200000", "--seed", "7", "--timeout-ms", "60000");
        assertThat(flood.path("sent").asLong()).as(flood.toString()).isEqualTo(200_000);
        await().atMost(Duration.ofSeconds(10)).until(() -> counter(Counter.DROP_MALFORMED) > malformed);
        JsonNode whoami = probe("ee1", "http", RES1 + ":80", "/whoami", "--timeout-ms", "5000");
        assertThat(whoami.path("body").asText()).startsWith(ENI + ":");
        assertThat(counters().processAlive()).isTrue();
    }
}
