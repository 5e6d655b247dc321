package io.hyperplane.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.lab.fabric.DnsClient;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.spec.LabSpecYaml;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The default lab, under a test prefix, built once for every test here (without a node, so
 * nothing crosses a tunnel: DataPlaneEndToEndTest in e2e runs the node, and the service egress's
 * way to the internet).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class DefaultLabTest {
    private static final String PREFIX = "hp-t-";
    private static final Duration SHORT = Duration.ofSeconds(10);

    private final List<String> progress = Collections.synchronizedList(new ArrayList<>());
    private final LabSpec spec = LabSpecYaml.defaultSpec().withPrefix(PREFIX);
    private Path stateRoot;
    private Lab lab;

    @BeforeAll
    void up() throws IOException {
        TestLabs.assumeRootWithTools();
        stateRoot = TestLabs.tempStateRoot();
        lab = new Lab(stateRoot.resolve("state"), progress::add);
        lab.up(spec, null);
    }

    @AfterAll
    void down() throws Exception {
        if (lab == null) {
            return; // skipped: not root, or tools missing
        }
        try {
            lab.down();
            assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
            assertThat(lab.stateDir()).doesNotExist();
        } finally {
            TestLabs.removeLeftovers(spec);
            TestLabs.deleteTree(stateRoot);
        }
    }

    @Test
    void shouldCreateExactlyTheJournalledNamespaces() throws IOException {
        List<String> journalled = Journal.read(lab.stateDir(), warning -> { }).namespaces();

        assertThat(journalled).containsExactly("hp-t-underlay", "hp-t-node1", "hp-t-host1", "hp-t-ee1", "hp-t-ee2", "hp-t-ee3",
                "hp-t-ee4", "hp-t-vpc1", "hp-t-res1", "hp-t-res2", "hp-t-internet", "hp-t-inet-host");
        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).containsExactlyInAnyOrderElementsOf(journalled);
    }

    @Test
    void shouldReportProgressStepByStep() {
        assertThat(progress).anyMatch(line -> line.startsWith("lab: underlay hp-t-underlay bridge hp-t-ul") && line.endsWith("ok"));
        assertThat(progress).anyMatch(line -> line.startsWith("lab: ee ee3 hp-t-ee3 100.64.0.13 vni 5003"));
        assertThat(progress).anyMatch(line -> line.startsWith("lab: services on res1, res2") && line.endsWith("ready"));
        assertThat(progress).anyMatch(line -> line.startsWith("lab: internet router hp-t-internet underlay 198.18.255.254") && line.endsWith("ok"));
    }

    @Test
    void shouldReportTheDefaultTopologyInStatus() throws IOException {
        JsonNode status = new ObjectMapper().readTree(lab.status().toJson());

        List<String> keys = new ArrayList<>();
        status.fieldNames().forEachRemaining(keys::add);
        assertThat(keys.subList(0, 5)).containsExactly("namespaces", "enis", "executionEnvironments", "resources", "nodes");
        assertThat(status.get("namespaces")).extracting(JsonNode::asText).containsExactlyElementsOf(spec.namespaces());
        assertThat(status.get("enis")).extracting(e -> e.get("id").asText(), e -> e.get("ip").asText(), e -> e.get("subnet").asText())
                .containsExactly(tuple("eni-1", "10.0.1.4", "subnet-1"), tuple("eni-hyperplane-egress", "192.0.2.10", "subnet-hyperplane-egress"));
        assertThat(status.get("executionEnvironments"))
                .extracting(e -> e.get("id").asText(), e -> e.get("namespace").asText(), e -> e.get("ip").asText(),
                        e -> e.get("vni").asInt(), e -> e.get("eni").asText())
                .containsExactly(tuple("ee1", "hp-t-ee1", "100.64.0.11", 5001, "eni-1"),
                        tuple("ee2", "hp-t-ee2", "100.64.0.12", 5002, "eni-1"),
                        tuple("ee3", "hp-t-ee3", "100.64.0.13", 5003, "eni-1"),
                        tuple("ee4", "hp-t-ee4", "100.64.0.14", 5004, "eni-hyperplane-egress"));
        assertThat(status.get("resources")).extracting(r -> r.get("namespace").asText(), r -> r.get("ip").asText())
                .containsExactly(tuple("hp-t-res1", "10.0.1.10"), tuple("hp-t-res2", "10.0.2.10"));
        assertThat(status.get("resources").get(0).get("services"))
                .extracting(s -> s.get("proto").asText(), s -> s.get("port").asInt(), s -> s.get("kind").asText())
                .containsExactly(tuple("tcp", 5432, "echo"), tuple("tcp", 7, "echo"), tuple("udp", 53, "echo"), tuple("tcp", 80, "http"));
        JsonNode node = status.get("nodes").get(0);
        assertThat(node.get("namespace").asText()).isEqualTo("hp-t-node1");
        assertThat(node.get("underlayIp").asText()).isEqualTo("198.18.0.1");
        assertThat(node.get("counters").asText()).isEqualTo(lab.stateDir().resolve("node1.counters").toString());
        assertThat(node.get("log").asText()).isEqualTo(lab.stateDir().resolve("node1.log").toString());
        assertThat(node.get("running").asBoolean()).isFalse();
        assertThat(status.get("missingNamespaces")).isEmpty();
        JsonNode internet = status.get("internet");
        assertThat(internet.get("namespace").asText()).isEqualTo("hp-t-internet");
        assertThat(internet.get("hostsNamespace").asText()).isEqualTo("hp-t-inet-host");
        assertThat(internet.get("host").asText()).isEqualTo("203.0.113.10");
        assertThat(internet.get("serviceEgress").asText()).isEqualTo("192.0.2.10");
        assertThat(lab.status().toTable()).contains("eni-1", "hp-t-ee1", "tcp/5432 echo", "internet: router hp-t-internet");
    }

    @Test
    void shouldWriteTheNodeSnapshot() throws IOException {
        NodeSnapshot snapshot = SnapshotJson.read(lab.stateDir().resolve("node1.json"));

        assertThat(snapshot.enis()).extracting(NodeSnapshot.Eni::id, NodeSnapshot.Eni::ip)
                .containsExactly(tuple("eni-hyperplane-egress", "192.0.2.10"), tuple("eni-1", "10.0.1.4"));
        assertThat(snapshot.executionEnvironments()).hasSize(4);
        assertThat(snapshot.subnets()).extracting(NodeSnapshot.Subnet::vni, NodeSnapshot.Subnet::vtep)
                .containsExactly(tuple(1000, "198.18.255.254"), tuple(1001, "198.18.0.21"), tuple(1002, "198.18.0.21"));
    }

    @Test
    void shouldReachResourceServicesAcrossTheVpcRouter() {
        JsonNode tcp = lab.probe("hp-t-res2", "tcp", "10.0.1.10:5432", "--send", "select 1", "--timeout-ms", "3000");
        JsonNode tcp7 = lab.probe("hp-t-res2", "tcp", "10.0.1.10:7", "--send", "seven", "--timeout-ms", "3000");
        JsonNode udp = lab.probe("hp-t-res2", "udp", "10.0.1.10:53", "--send", "query", "--timeout-ms", "3000");
        JsonNode http = lab.probe("hp-t-res2", "http", "10.0.1.10:80", "/whoami", "--timeout-ms", "3000");
        JsonNode back = lab.probe("hp-t-res1", "http", "10.0.2.10:80", "/whoami", "--timeout-ms", "3000");

        assertThat(tcp.get("reply").asText()).as(tcp.toString()).isEqualTo("select 1");
        assertThat(tcp7.get("reply").asText()).as(tcp7.toString()).isEqualTo("seven");
        assertThat(udp.get("reply").asText()).as(udp.toString()).isEqualTo("query");
        assertThat(http.get("status").asInt()).as(http.toString()).isEqualTo(200);
        assertThat(http.get("body").asText()).matches("10\\.0\\.2\\.10:\\d+\n");
        assertThat(back.get("body").asText()).as(back.toString()).matches("10\\.0\\.1\\.10:\\d+\n");
    }

    @Test
    void shouldServeTheInternetHostBehindTheInternetRouter() {
        JsonNode http = lab.probe("hp-t-internet", "http", "203.0.113.10:80", "/whoami", "--timeout-ms", "3000");
        JsonNode tcp7 = lab.probe("hp-t-internet", "tcp", "203.0.113.10:7", "--send", "seven", "--timeout-ms", "3000");
        JsonNode udp = lab.probe("hp-t-internet", "udp", "203.0.113.10:53", "--send", "query", "--timeout-ms", "3000");

        assertThat(http.get("body").asText()).as(http.toString()).matches("203\\.0\\.113\\.1:\\d+\n");
        assertThat(tcp7.get("reply").asText()).as(tcp7.toString()).isEqualTo("seven");
        assertThat(udp.get("reply").asText()).as(udp.toString()).isEqualTo("query");
    }

    @Test
    void shouldAnswerTheInternetsNamesAtBothDnsServers() throws IOException {
        DnsClient.Reply authority = DnsClient.ask("hp-t-internet", "203.0.113.53", "whoami.internet.test", SHORT);
        DnsClient.Reply resolver = DnsClient.ask("hp-t-internet", "192.0.2.2", "whoami.internet.test", SHORT);

        assertThat(authority.address()).as(authority.toString()).isEqualTo("203.0.113.10");
        assertThat(resolver.address()).as(resolver.toString()).isEqualTo("203.0.113.10");
    }

    @Test
    void shouldTunnelTheServiceEgressSubnetFromTheInternetRouterToTheNodesAnycastAddress() {
        ExecResult vxlan = lab.exec("hp-t-internet", SHORT, "ip", "-d", "link", "show", "hp-vx1000");
        ExecResult flood = lab.exec("hp-t-internet", SHORT, "bridge", "fdb", "show", "dev", "hp-vx1000");
        ExecResult nexthops = lab.exec("hp-t-internet", SHORT, "ip", "nexthop", "show");
        ExecResult router = lab.exec("hp-t-internet", SHORT, "ip", "-4", "-o", "address", "show", "dev", "hp-b1000");

        assertThat(vxlan.stdout()).contains("vxlan id 1000", "remote 198.18.255.1", "local 198.18.255.254", "dstport 4789", "nolearning");
        assertThat(flood.stdout()).as("no flood list: the one default entry, to the anycast address")
                .contains("00:00:00:00:00:00 dst 198.18.255.1").doesNotContain("dst 198.18.0.1");
        assertThat(nexthops.stdout()).as("the node's slot, pointed home").contains("via 198.18.0.1 dev hp-ul0");
        assertThat(router.stdout()).contains("192.0.2.1/24", "192.0.2.2/32");
    }

    @Test
    void shouldPingAcrossTheVpcRouter() {
        Assertions.assertTrue(Tools.isAvailable(Tool.PING), "needs ping (apt-get install -y iputils-ping, or run ./hyperplane test)");

        ExecResult ping = lab.exec("hp-t-res2", SHORT, Tools.command(Tool.PING), "-c", "1", "-W", "2", "10.0.1.10");

        assertThat(ping.exitCode()).as(ping.stdout() + ping.stderr()).isZero();
    }

    @Test
    void shouldHoldManyConcurrentConnectionsAcrossTheRouter() {
        JsonNode result = lab.probe("hp-t-res2", "connect-many", "10.0.1.10:80", "--count", "1000", "--timeout-ms", "15000");

        assertThat(result.get("answered").asInt()).as(result.toString()).isEqualTo(1000);
        assertThat(result.get("distinctPeers").asInt()).isEqualTo(1000);
        assertThat(result.get("peerIps")).extracting(JsonNode::asText).containsExactly("10.0.2.10");
    }

    @Test
    void shouldReportAnUnansweredProbeAsATimeout() {
        // 10.0.1.77 is in subnet-1 but nobody has it: ARP goes unanswered, so the connect times out.
        JsonNode result = lab.probe("hp-t-res2", "tcp", "10.0.1.77:80", "--send", "x", "--timeout-ms", "500");

        assertThat(result.get("ok").asBoolean()).isFalse();
        assertThat(result.get("error").asText()).isIn("timeout", "unreachable");
    }

    @Test
    void shouldGiveAnEeOnlyLoopbackItsVxlanDeviceAndADefaultRouteViaTheGateway() {
        ExecResult links = lab.exec("hp-t-ee1", SHORT, "ip", "-o", "link", "show");
        ExecResult routes = lab.exec("hp-t-ee1", SHORT, "ip", "route", "show");
        ExecResult vxlan = lab.exec("hp-t-ee1", SHORT, "ip", "-d", "link", "show", "hp-t-vx5001");
        ExecResult ipv6 = lab.exec("hp-t-ee1", SHORT, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6");

        assertThat(links.stdout().lines().map(line -> line.split(": ")[1].split("@")[0])).containsExactly("lo", "hp-t-vx5001");
        assertThat(routes.stdout()).contains("default via 100.64.0.1 dev hp-t-vx5001");
        assertThat(routes.stdout().lines()).hasSize(2); // the default route and the connected 100.64.0.0/24
        assertThat(vxlan.stdout()).contains("mtu 1500", "link/ether 02:ee:00:00:00:01", "vxlan id 5001",
                "remote 198.18.0.1", "local 198.18.0.11", "dstport 4789", "nolearning");
        assertThat(ipv6.stdout().strip()).isEqualTo("1");
    }

    @Test
    void shouldTurnOffloadsOffOnKernelVteps() {
        ExecResult underlay = lab.exec("hp-t-host1", SHORT, Tools.command(Tool.ETHTOOL), "-k", "hp-t-ul0");
        ExecResult subnet = lab.exec("hp-t-vpc1", SHORT, Tools.command(Tool.ETHTOOL), "-k", "hp-t-vx1001");
        ExecResult ee = lab.exec("hp-t-ee1", SHORT, Tools.command(Tool.ETHTOOL), "-k", "hp-t-vx5001");

        for (ExecResult result : List.of(underlay, subnet, ee)) {
            assertThat(result.stdout()).as(result.commandLine())
                    .contains("tx-checksumming: off", "tcp-segmentation-offload: off", "generic-segmentation-offload: off");
        }
    }

    @Test
    void shouldBuildTheUnderlayBridgeWithMtu1600() {
        ExecResult bridge = lab.exec("hp-t-underlay", SHORT, "ip", "-o", "link", "show", "master", "hp-t-ul");

        assertThat(bridge.stdout().lines().map(line -> line.split(": ")[1].split("@")[0]))
                .containsExactly("hp-t-p1", "hp-t-p2", "hp-t-p3", "hp-t-p4");
        assertThat(bridge.stdout().lines()).allMatch(line -> line.contains("mtu 1600"));
    }

    @Test
    void shouldRefuseASecondUpAndLeaveTheFirstLabAlone() {
        assertThatThrownBy(() -> lab.up(spec, null))
                .isInstanceOf(LabException.class)
                .hasMessageContaining("a lab is already up with state in " + lab.stateDir());
        Lab other = new Lab(stateRoot.resolve("other-state"), progress::add);
        assertThatThrownBy(() -> other.up(spec, null))
                .isInstanceOf(LabException.class)
                .hasMessageContaining("hp-t-underlay")
                .hasMessageContaining("already exist but belong to no lab");

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).hasSize(spec.namespaces().size());
        assertThat(other.stateDir()).doesNotExist();
    }

    @Test
    void shouldRunCommandsOnlyInsideTheLab() {
        assertThatThrownBy(() -> lab.exec("hp-someone-else", SHORT, "true"))
                .isInstanceOf(LabException.class)
                .hasMessageContaining("namespace hp-someone-else is not part of the lab");
    }

    @Test
    void shouldKeepProgressLinesOnOneLineEach() {
        for (Iterator<String> it = progress.iterator(); it.hasNext(); ) {
            assertThat(it.next()).doesNotContain("\n");
        }
        assertThat(Files.exists(lab.stateDir().resolve("res1.log"))).isTrue();
    }
}
