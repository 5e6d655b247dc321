package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.fabric.UnderlaySeal;
import io.hyperplane.lab.probe.ProbeMain;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.sigv4.Credential;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Instance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 13's sealed underlay, attacked from an instance (DESIGN.md §9: the underlay and the
 * system's own ranges are unreachable from every tenant namespace).
 * <p>
 * Two tenants (two accounts) use the same 10.0.0.0/16 and 10.0.1.0/24, the first also 10.0.2.0/24.
 * Beside their VPC routers on the fabric's underlay: a forwarder node's namespace (registered, so
 * the subnets' tunnels flood to it) and a worker host's with an execution environment behind a
 * VXLAN device, as a worker makes one. From the first tenant's instance, crafted VXLAN datagrams
 * (the other tenant's subnet VNI, the own VPC's other subnet's VNI, an execution environment's
 * VNI, each wrapping a frame for a host in that network) go to every underlay address there is
 * (the node, the worker host, both VPCs' VTEPs) and to the instance's own gateway; plain TCP, UDP
 * and ping go to the underlay addresses and the environment. Kernel counters watch the underlay
 * bridge, the node, the worker host, the environment and the attacked instances (nftables: they
 * cannot miss a packet for not listening yet): nothing arrives, and the attacker's VPC router
 * counted its drops. Then the node sends the same datagrams, as it legitimately may, and they do
 * arrive: the watchers see, and the seal lets the nodes through.
 * <p>
 * The probe runs in the instance's network namespace and needs nothing an instance lacks: an
 * ordinary UDP socket makes the crafted datagrams (and instances can ping, through ping sockets).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class UnderlayInjectionEndToEndTest {
    private static final String PREFIX = "hp-ui-";
    private static final String NODE_IP = "198.18.0.1";
    private static final String HOST_IP = "198.18.0.11";
    private static final String UNDERLAY = "198.18.0.0/15";
    private static final int VXLAN_PORT = 4789;
    /** The first VNI the control plane gives an execution environment (its "ee-vni" allocator starts there). */
    private static final int EE_VNI = 100000;
    private static final String EE_IP = "100.64.0.11";
    /** Where every crafted inner frame is addressed; the watchers in the networks attacked count it. */
    private static final int MARK_PORT = 7777;
    private static final String FORGED_SOURCE = "10.0.1.200";
    /** The attacker's own gateway: its router's address on the attacker's subnet, where the router's VXLAN sockets listen too. */
    private static final String GATEWAY_A1 = "10.0.1.1";
    /** How often each injection is sent: a datagram queued behind an unresolved neighbour may be lost, three are not. */
    private static final int ROUNDS = 3;
    /** Probes run at once: each is a JVM of its own, and the machine may have two processors. */
    private static final int PROBES_AT_ONCE = 4;
    private static final String WATCH_TABLE = "hp_t_watch";
    private static final String WATCH_COUNTER = "arrived";
    private static final String VXLAN_OFF_UNDERLAY = UnderlaySeal.Drop.VXLAN_OFF_UNDERLAY.counter();
    private static final String TO_SYSTEM = UnderlaySeal.Drop.TO_SYSTEM.counter();
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private Path fabricState;
    private ControlPlaneServer server;
    private Ec2Client tenantA;
    private Ec2Client tenantB;
    private Lab fabricLab;

    @BeforeAll
    void start() throws IOException {
        assertThat(System.getProperty("user.name")).as("the fabric builds namespaces: run as root").isEqualTo("root");
        dir = Files.createTempDirectory("hp-underlay-e2e");
        fabricState = dir.resolve("fabric");
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir.resolve("data"), "127.0.0.1", 0, null, null, null),
                new LabFabric(fabricState, PREFIX, line -> System.out.println("  " + line)));
        tenantA = client(server.defaultCredential());
        tenantB = client(server.accounts().create());
        fabricLab = new Lab(fabricState, line -> { });
    }

    private Ec2Client client(Credential credential) {
        return AwsClients.ec2(server.endpoint(), AwsClients.credentials(credential));
    }

    @AfterAll
    void stop() throws IOException {
        for (AutoCloseable c : new AutoCloseable[] {tenantA, tenantB, server}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                System.out.println("closing: " + e.getMessage());
            }
        }
        new Lab(fabricState, line -> { }).down();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file); // the store and the server's files
            }
        }
        Process list = new ProcessBuilder("ip", "netns", "list").start();
        assertThat(new String(list.getInputStream().readAllBytes())).as("namespaces left behind").doesNotContain(PREFIX);
    }

    @Test
    void shouldKeepEveryInjectionFromAnInstanceOutOfTheUnderlayAndOtherNetworks() throws Exception {
        server.forwarderNodes().register("ui-node", NODE_IP);
        String vpcA = tenantA.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
        String subnetA1 = tenantA.createSubnet(b -> b.vpcId(vpcA).cidrBlock("10.0.1.0/24")).subnet().subnetId();
        String subnetA2 = tenantA.createSubnet(b -> b.vpcId(vpcA).cidrBlock("10.0.2.0/24")).subnet().subnetId();
        String vpcB = tenantB.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
        String subnetB = tenantB.createSubnet(b -> b.vpcId(vpcB).cidrBlock("10.0.1.0/24")).subnet().subnetId();
        Instance attacker = launch(tenantA, subnetA1);
        Instance neighbour = launch(tenantA, subnetA2);
        Instance victim = launch(tenantB, subnetB);
        server.syncFabric();
        await().atMost(Duration.ofSeconds(30)).until(() -> running(tenantA, attacker) && running(tenantA, neighbour) && running(tenantB, victim));

        String routerA = PREFIX + vpcA;
        String routerB = PREFIX + vpcB;
        String vtepA = vtep(routerA);
        String vtepB = vtep(routerB);
        int vniA2 = vniOfGateway(routerA, "10.0.2.1");
        int vniB = vniOfGateway(routerB, "10.0.1.1");
        String attackerNs = LabFabric.instanceNamespace(PREFIX, attacker.instanceId());
        String victimNs = LabFabric.instanceNamespace(PREFIX, victim.instanceId());
        String neighbourNs = LabFabric.instanceNamespace(PREFIX, neighbour.instanceId());
        String underlay = LabFabric.underlayNamespace(PREFIX);
        String nodeNs = PREFIX + "t-node";
        String hostNs = PREFIX + "t-host";
        String eeNs = PREFIX + "t-ee";
        List<String> made = List.of(nodeNs, hostNs, eeNs);
        try {
            for (String ns : made) {
                LocalCloud.run("ip", "netns", "add", ns);
            }
            LocalCloud.joinUnderlay(nodeNs, underlay, "hp-uin", NODE_IP);
            LocalCloud.joinUnderlay(hostNs, underlay, "hp-uih", HOST_IP);
            // An execution environment as a worker makes one: its VXLAN made in the host (the socket stays there), moved in.
            String vx = "hp-vx" + EE_VNI;
            LocalCloud.run("ip", "-n", hostNs, "link", "add", vx, "type", "vxlan", "id", Integer.toString(EE_VNI), "local", HOST_IP,
                    "remote", NODE_IP, "dstport", Integer.toString(VXLAN_PORT), "dev", "hp-ul0", "nolearning");
            LocalCloud.run("ip", "-n", hostNs, "link", "set", vx, "netns", eeNs);
            LocalCloud.run("ip", "-n", eeNs, "address", "add", EE_IP + "/10", "dev", vx);
            LocalCloud.run("ip", "-n", eeNs, "link", "set", vx, "up");

            // Watchers: whatever of a tenant's crosses the underlay or reaches a host on it, and what the crafted frames carry.
            // Not 0.0.0.0: the underlay bridge's own IGMPv3 reports (0.0.0.0 -> 224.0.0.22) reach every host on it, and no
            // router forwards a packet from 0.0.0.0 (a martian source), so none of the attack's can have it.
            Watcher onUnderlay = Watcher.load(underlay, "bridge", "forward", "ip saddr != { " + UNDERLAY + ", 0.0.0.0 }");
            Watcher atNode = Watcher.load(nodeNs, "inet", "prerouting", "ip saddr != { " + UNDERLAY + ", 0.0.0.0 }");
            Watcher atHost = Watcher.load(hostNs, "inet", "prerouting", "ip saddr != { " + UNDERLAY + ", 0.0.0.0 }");
            Watcher inEnvironment = Watcher.load(eeNs, "inet", "prerouting", "udp dport " + MARK_PORT);
            Watcher atVictim = Watcher.load(victimNs, "inet", "prerouting", "udp dport " + MARK_PORT);
            Watcher atNeighbour = Watcher.load(neighbourNs, "inet", "prerouting", "udp dport " + MARK_PORT);

            // The attack: every injection to every underlay address and to the instance's own gateway.
            List<String> addresses = List.of(NODE_IP, HOST_IP, vtepA, vtepB, GATEWAY_A1);
            String targets = String.join(",", addresses.stream().map(ip -> ip + ":" + VXLAN_PORT).toList());
            Map<Integer, String> injections = new LinkedHashMap<>();
            injections.put(vniB, victim.privateIpAddress());
            injections.put(vniA2, neighbour.privateIpAddress());
            injections.put(EE_VNI, EE_IP);
            for (Map.Entry<Integer, String> injection : injections.entrySet()) {
                JsonNode sent = fabricLab.probe(attackerNs, crafted(targets, injection.getKey(), injection.getValue(), ROUNDS));
                assertThat(sent.path("sent").asInt()).as("the probe sent them all: " + sent).isEqualTo(addresses.size() * ROUNDS);
            }
            SoftAssertions softly = new SoftAssertions();
            // Each dropped probe waits out its timeout (1 s): a few at once, checked in order once all have ended.
            try (ExecutorService tries = Executors.newFixedThreadPool(PROBES_AT_ONCE)) {
                Map<String, Future<JsonNode>> tcp = new LinkedHashMap<>();
                Map<String, Future<JsonNode>> udp = new LinkedHashMap<>();
                for (String address : List.of(NODE_IP, HOST_IP, vtepA, vtepB)) {
                    tcp.put(address, tries.submit(() -> fabricLab.probe(attackerNs, "tcp", address + ":22", "--send", "x", "--timeout-ms", "1000")));
                    udp.put(address, tries.submit(() -> fabricLab.probe(attackerNs, "udp", address + ":53", "--send", "x", "--timeout-ms", "1000")));
                }
                Map<String, Future<ExecResult>> pings = new LinkedHashMap<>();
                for (String address : List.of(NODE_IP, HOST_IP, vtepA, vtepB, EE_IP)) {
                    pings.put(address, tries.submit(() -> fabricLab.exec(attackerNs, Duration.ofSeconds(5), "ping", "-n", "-c", "1", "-W", "1", address)));
                }
                Future<JsonNode> toEnvironment = tries.submit(() -> fabricLab.probe(attackerNs, "tcp", EE_IP + ":9001", "--send", "x", "--timeout-ms", "1000"));
                for (String address : tcp.keySet()) {
                    JsonNode tcpResult = tcp.get(address).get();
                    softly.assertThat(tcpResult.path("error").asText()).as("TCP from an instance to the underlay's " + address + " is dropped: " + tcpResult)
                            .isEqualTo("timeout");
                    JsonNode udpResult = udp.get(address).get();
                    softly.assertThat(udpResult.path("error").asText()).as("UDP from an instance to the underlay's " + address + " is dropped: " + udpResult)
                            .isEqualTo("timeout");
                }
                for (var ping : pings.entrySet()) {
                    ExecResult result = ping.getValue().get();
                    softly.assertThat(result.ok()).as("ping from an instance to " + ping.getKey() + ": " + result.stdout().strip()).isFalse();
                }
                softly.assertThat(toEnvironment.get().path("ok").asBoolean()).as("TCP to an execution environment's address").isFalse();
            }

            // The router dropped and counted: to its own VTEP and gateway (a VXLAN socket's port off the underlay), toward
            // the node, the worker host and the other VTEP (system ranges). Counters are read, then every watcher is.
            long ownSockets = 2L * injections.size() * ROUNDS;
            long towardSystem = 3L * injections.size() * ROUNDS;
            Map<String, Long> seal = new HashMap<>();
            try {
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
                    seal.putAll(namedCounters(routerA, "inet", UnderlaySeal.TABLE));
                    return seal.getOrDefault(VXLAN_OFF_UNDERLAY, 0L) >= ownSockets && seal.getOrDefault(TO_SYSTEM, 0L) >= towardSystem;
                });
            } catch (ConditionTimeoutException e) {
                // reported with everything else below
            }
            softly.assertThat(seal).as("router %s's seal counters", routerA).containsKeys(VXLAN_OFF_UNDERLAY, TO_SYSTEM);
            softly.assertThat(seal.getOrDefault(VXLAN_OFF_UNDERLAY, 0L)).as("VXLAN to the router's own sockets, counted")
                    .isGreaterThanOrEqualTo(ownSockets);
            softly.assertThat(seal.getOrDefault(TO_SYSTEM, 0L)).as("packets toward the underlay, counted").isGreaterThanOrEqualTo(towardSystem);
            for (Watcher watcher : List.of(onUnderlay, atNode, atHost, inEnvironment, atVictim, atNeighbour)) {
                softly.assertThat(watcher.arrived()).as("packets of the attack that arrived in " + watcher.namespace()).isZero();
            }
            System.out.println("router " + routerA + " counted: " + seal);
            softly.assertAll();

            // The node may: its VXLAN reaches the other tenant's subnet and the environment (the watchers work, the seal lets nodes in).
            assertThat(probeIn(nodeNs, crafted(vtepB + ":" + VXLAN_PORT, vniB, victim.privateIpAddress(), 1)).path("sent").asInt()).isEqualTo(1);
            assertThat(probeIn(nodeNs, crafted(HOST_IP + ":" + VXLAN_PORT, EE_VNI, EE_IP, 1)).path("sent").asInt()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> atVictim.arrived() >= 1 && inEnvironment.arrived() >= 1);
        } finally {
            Namespaces.killProcesses(made, Duration.ofSeconds(3));
            made.forEach(Namespaces::delete);
            server.forwarderNodes().remove("ui-node");
        }
        tenantA.terminateInstances(b -> b.instanceIds(attacker.instanceId(), neighbour.instanceId()));
        tenantB.terminateInstances(b -> b.instanceIds(victim.instanceId()));
        server.syncFabric();
        for (String subnet : List.of(subnetA1, subnetA2)) {
            tenantA.deleteSubnet(b -> b.subnetId(subnet));
        }
        tenantB.deleteSubnet(b -> b.subnetId(subnetB));
        tenantA.deleteVpc(b -> b.vpcId(vpcA));
        tenantB.deleteVpc(b -> b.vpcId(vpcB));
        server.syncFabric();
        assertThat(Namespaces.list()).as("the fabric removed both VPCs' namespaces").doesNotContain(routerA, routerB, attackerNs, victimNs);
    }

    private static String[] crafted(String targets, int vni, String innerAddress, int rounds) {
        return new String[] {"vxlan", targets, "--vni", Integer.toString(vni), "--inner", innerAddress + ":" + MARK_PORT,
                "--inner-source", FORGED_SOURCE, "--send", "injected", "--count", Integer.toString(rounds)};
    }

    private static Instance launch(Ec2Client ec2, String subnet) {
        return ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet)).instances().getFirst();
    }

    private static boolean running(Ec2Client ec2, Instance instance) {
        return ec2.describeInstances(b -> b.instanceIds(instance.instanceId())).reservations().getFirst().instances().getFirst()
                .state().nameAsString().equals("running");
    }

    /** The router's underlay address. */
    private static String vtep(String router) throws IOException, InterruptedException {
        String line = LocalCloud.run("ip", "-n", router, "-4", "-o", "address", "show", "dev", "hp-ul0").strip();
        return line.split("\\s+")[3].split("/")[0];
    }

    /** The VNI of the subnet whose router address is {@code gateway}: its bridge is named after it ("hp-b" + VNI). */
    private static int vniOfGateway(String router, String gateway) throws IOException, InterruptedException {
        for (String line : LocalCloud.run("ip", "-n", router, "-4", "-o", "address", "show").lines().toList()) {
            String[] fields = line.strip().split("\\s+");
            if (fields[3].startsWith(gateway + "/") && fields[1].startsWith("hp-b")) {
                return Integer.parseInt(fields[1].substring("hp-b".length()));
            }
        }
        throw new IllegalStateException("no bridge with " + gateway + " in " + router);
    }

    /** A table of the test's in a namespace, with one counter of what {@code match} matches at a hook, before anything could drop it. */
    private record Watcher(String namespace, String family) {
        static Watcher load(String ns, String family, String hook, String match) throws IOException, InterruptedException {
            int priority = family.equals("bridge") ? -200 : -300; // the earliest of each family's hooks' usual priorities
            String ruleset = "table " + family + " " + WATCH_TABLE + " {\n  counter " + WATCH_COUNTER + " { }\n  chain " + hook + " {\n"
                    + "    type filter hook " + hook + " priority " + priority + "; policy accept;\n"
                    + "    " + match + " counter name " + WATCH_COUNTER + "\n  }\n}\n";
            Path file = Files.createTempFile("hp-watch", ".nft");
            try {
                Files.writeString(file, ruleset);
                LocalCloud.run("ip", "netns", "exec", ns, "nft", "-f", file.toString());
            } finally {
                Files.delete(file);
            }
            return new Watcher(ns, family);
        }

        /** Packets counted so far; -1 when the table is gone. */
        long arrived() throws IOException {
            return namedCounters(namespace, family, WATCH_TABLE).getOrDefault(WATCH_COUNTER, -1L);
        }
    }

    /** The packets each named counter of a table has counted; empty when there is no such table. */
    private static Map<String, Long> namedCounters(String ns, String family, String table) throws IOException {
        ExecResult listed = Commands.run(Duration.ofSeconds(10), Namespaces.execIn(ns, List.of("nft", "-j", "list", "table", family, table)));
        Map<String, Long> counters = new HashMap<>();
        if (!listed.ok()) {
            return counters;
        }
        for (JsonNode item : JSON.readTree(listed.stdout()).path("nftables")) {
            JsonNode counter = item.path("counter");
            if (counter.isObject()) {
                counters.put(counter.path("name").asText(), counter.path("packets").asLong());
            }
        }
        return counters;
    }

    /** A probe in one of this test's own namespaces (not the fabric's, which {@link Lab#probe} serves). */
    private static JsonNode probeIn(String ns, String... args) throws IOException {
        List<String> command = new ArrayList<>(Jvm.command(List.of(), ProbeMain.class.getName()));
        command.addAll(List.of(args));
        ExecResult result = Commands.run(Duration.ofSeconds(30), Namespaces.execIn(ns, command));
        return JSON.readTree(result.stdout().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("{}"));
    }
}
