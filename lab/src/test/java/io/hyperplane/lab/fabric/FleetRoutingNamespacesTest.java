package io.hyperplane.lab.fabric;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.netns.NetworkNamespace;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A VPC router's way to the fleet against the real kernel (root), in namespaces of the test's own
 * ({@code hp-trt-*}, removed by exact name): a subnet's tunnel to the anycast address, the bridge
 * table's block marks, the rules and tables per block ({@link FleetRouting}). A reply to a
 * Hyperplane address reaches the node that owns its destination port's block (UDP, an ICMP echo
 * reply by identifier, an ICMP error by the quoted source port), which shows that a mark set in
 * the bridge family steers the VXLAN device's route lookup; other traffic spreads over the nodes.
 * <pre>
 *   hp-trt-ul: bridge hp-ul
 *     ├─ hp-trt-r    hp-ul0 198.19.0.9/15, bridge hp-b1001 10.9.1.1/24 + hp-vx1001 (anycast)
 *     │     └─ hp-trt-i  eth0 10.9.1.4/24 on hp-b1001; 10.9.1.50 (an "ENI") has a static neighbour
 *     └─ hp-trt-n1..3 ul0 198.18.0.1x/15, lo ANYCAST/32, an nft set per kind of what arrived
 * </pre>
 */
@Timeout(120)
class FleetRoutingNamespacesTest {
    private static final String PREFIX = "hp-trt-";
    private static final String UNDERLAY = PREFIX + "ul";
    private static final String ROUTER = PREFIX + "r";
    private static final String INSTANCE = PREFIX + "i";
    private static final List<String> NODES = List.of(PREFIX + "n1", PREFIX + "n2", PREFIX + "n3");
    private static final List<String> NODE_IPS = List.of("198.18.0.11", "198.18.0.12", "198.18.0.13");
    private static final String ENI = "10.9.1.50";
    private static final int VNI = 1001;
    /**
     * Bit offsets from the outer UDP header (nft's @th) into the frame it carries: 8 UDP + 8 VXLAN
     * + 14 Ethernet bytes to the inner IPv4 header (its protocol at +9), 20 more to its L4 header.
     */
    private static final String INNER_PROTOCOL = "@th,312,8";
    private static final String INNER_L4 = "400";
    private static final Pattern ELEMENTS = Pattern.compile("\"elem\":\\s*\\[([^\\]]*)\\]");
    private static final List<String> made = new ArrayList<>();
    private static FleetRouting fleet;
    private static final FleetPlan PLAN = FleetPlan.of(1, List.of(new FleetPlan.Candidate(1, "n1", NODE_IPS.get(0), true),
            new FleetPlan.Candidate(2, "n2", NODE_IPS.get(1), true), new FleetPlan.Candidate(3, "n3", NODE_IPS.get(2), true)));

    @BeforeAll
    static void build() {
        assertThat(System.getProperty("user.name")).as("namespaces are made by root (run the tests as root)").isEqualTo("root");
        try {
            for (String ns : List.of(UNDERLAY, ROUTER, INSTANCE, NODES.get(0), NODES.get(1), NODES.get(2))) {
                Namespaces.delete(ns); // a killed run's, same exact name
                Namespaces.add(ns);
                made.add(ns);
                ip(ns, "link", "set", "lo", "up");
            }
            ip(UNDERLAY, "link", "add", "hp-ul", "type", "bridge");
            ip(UNDERLAY, "link", "set", "hp-ul", "up");
            attach(ROUTER, "pr", LabFabric.UNDERLAY_PORT, "198.19.0.9/15");
            for (int i = 0; i < NODES.size(); i++) {
                String node = NODES.get(i);
                attach(node, "p" + i, "ul0", NODE_IPS.get(i) + "/15");
                ip(node, "address", "add", FleetPlan.ANYCAST + "/32", "dev", "lo");
                nft(node, """
                        table ip seen {
                          set udps { typeof @th,%2$d,16; size 65535; flags dynamic; }
                          set echos { typeof @th,%3$d,16; size 65535; flags dynamic; }
                          set errors { typeof @th,%4$d,16; size 65535; flags dynamic; }
                          chain in {
                            type filter hook input priority 0;
                            ip daddr %1$s udp dport 4789 %5$s 17 add @udps { @th,%2$d,16 }
                            ip daddr %1$s udp dport 4789 %5$s 1 @th,%6$s,8 0 add @echos { @th,%3$d,16 }
                            ip daddr %1$s udp dport 4789 %5$s 1 @th,%6$s,8 3 add @errors { @th,%4$d,16 }
                          }
                        }
                        """.formatted(FleetPlan.ANYCAST, 416, 432, 624, INNER_PROTOCOL, INNER_L4));
            }
            // The fabric's order: the router's tables, then its bridges (with br_netfilter loaded, a bridge chain
            // registered before the bridge at br_netfilter's priority never sees a forwarded frame).
            nft(ROUTER, FleetRouting.markRules(List.of(new FleetRouting.Tunnel(VNI, "10.9.1.0/24"))));
            ip(ROUTER, "link", "add", "hp-b" + VNI, "type", "bridge");
            ip(ROUTER, "address", "add", "10.9.1.1/24", "dev", "hp-b" + VNI);
            ip(ROUTER, "link", "set", "hp-b" + VNI, "up");
            LabFabric.tunnel(ROUTER, "198.19.0.9", VNI);
            ip(ROUTER, "link", "add", "pi", "type", "veth", "peer", "name", "eth0", "netns", INSTANCE);
            ip(ROUTER, "link", "set", "pi", "master", "hp-b" + VNI, "up");
            ip(INSTANCE, "address", "add", "10.9.1.4/24", "dev", "eth0");
            ip(INSTANCE, "link", "set", "eth0", "up");
            ip(INSTANCE, "neigh", "add", ENI, "lladdr", "02:00:00:00:00:50", "dev", "eth0", "nud", "permanent");
            fleet = FleetRouting.unprobed(line -> { });
            fleet.plan(PLAN);
            fleet.router(ROUTER);
        } catch (RuntimeException | AssertionError e) {
            tearDown();
            throw e;
        }
    }

    @AfterAll
    static void tearDown() {
        for (String ns : made.reversed()) {
            Namespaces.delete(ns);
        }
        made.clear();
        assertThat(Namespaces.list()).noneMatch(name -> name.startsWith(PREFIX));
    }

    private static void attach(String ns, String port, String device, String cidr) {
        ip(UNDERLAY, "link", "add", port, "type", "veth", "peer", "name", device, "netns", ns);
        ip(UNDERLAY, "link", "set", port, "master", "hp-ul", "up");
        ip(ns, "address", "add", cidr, "dev", device);
        ip(ns, "link", "set", device, "up");
    }

    @Test
    void shouldSendRepliesToTheOwnerOfTheirPortsBlockAndSpreadTheRest() throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
            ports.add(FleetPlan.firstPortOf(b) + 7);
        }
        for (int port : ports) {
            udp(40_000, port);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> landed("udps").stream().mapToInt(Set::size).sum() >= ports.size());
        for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
            assertThat(landed("udps").get(PLAN.owner(b).index() - 1)).as("block %d's reply", b).contains(ports.get(b));
        }

        int echo = FleetPlan.firstPortOf(5) + 1; // identifiers are allocated from the blocks too
        int quoted = FleetPlan.firstPortOf(10) + 2;
        icmp(echo, quoted);
        await().atMost(Duration.ofSeconds(10)).until(() -> landed("echos").get(PLAN.owner(5).index() - 1).contains(echo)
                && landed("errors").get(PLAN.owner(10).index() - 1).contains(quoted));

        for (int sport = 30_000; sport < 30_060; sport++) {
            udp(sport, 53); // not a NAT port: the group's hash, per flow
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> landed("udps").stream().filter(s -> s.contains(53)).count() == 3);
    }

    /** One datagram from the instance to the "ENI". */
    private static void udp(int sourcePort, int port) throws IOException {
        NetworkNamespace.call(INSTANCE, () -> {
            try (DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET)) {
                c.bind(new InetSocketAddress("10.9.1.4", sourcePort));
                c.send(ByteBuffer.allocate(8), new InetSocketAddress(ENI, port));
            }
            return null;
        });
    }

    /** An ICMP echo reply with identifier {@code id}, and a port unreachable quoting a UDP datagram from port {@code quoted}, by a raw socket. */
    private static void icmp(int id, int quoted) {
        String script = """
                import socket, struct
                def csum(b):
                    s = sum(struct.unpack('!%%dH' %% (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
                    return struct.pack('!H', ~s & 0xffff)
                def icmp(t, c, rest):
                    h = struct.pack('!BB', t, c) + b'\\0\\0' + rest
                    return h[:2] + csum(h) + h[4:]
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                s.sendto(icmp(0, 0, struct.pack('!HH', %d, 1) + b'x' * 8), ('%s', 0))
                quote = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 36, 0, 0, 64, 17, 0, socket.inet_aton('%s'), socket.inet_aton('203.0.113.10'))
                quote += struct.pack('!HHHH', %d, 53, 16, 0) + b'x' * 8
                s.sendto(icmp(3, 3, b'\\0' * 4 + quote), ('%s', 0))
                """.formatted(id, ENI, ENI, quoted, ENI);
        ExecResult r = Commands.run(Duration.ofSeconds(10), Namespaces.execIn(INSTANCE, List.of("python3", "-c", script)));
        assertThat(r.ok()).as(r.stderr()).isTrue();
    }

    /** Per node, the values its set {@code set} holds. */
    private static List<Set<Integer>> landed(String set) {
        List<Set<Integer>> out = new ArrayList<>();
        for (String node : NODES) {
            String json = Commands.check(Namespaces.execIn(node, List.of("nft", "-j", "list", "set", "ip", "seen", set))).stdout();
            Set<Integer> values = new HashSet<>();
            Matcher m = ELEMENTS.matcher(json);
            if (m.find()) {
                for (String e : m.group(1).split(",")) {
                    if (!e.isBlank()) {
                        values.add(Integer.parseInt(e.strip()));
                    }
                }
            }
            out.add(values);
        }
        return out;
    }

    private static void ip(String ns, String... args) {
        Commands.check(Namespaces.ipIn(ns, args));
    }

    private static void nft(String ns, String rules) {
        ExecResult r = Commands.run(Commands.DEFAULT_TIMEOUT, Namespaces.execIn(ns, List.of("nft", "-f", "-")), rules);
        if (!r.ok()) {
            throw new IllegalStateException("nft in " + ns + ": " + r.stderr());
        }
    }
}
