package io.hyperplane.node;

import io.hyperplane.config.SnapshotJson;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.Malformation;
import io.hyperplane.packet.TcpHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two nodes of a fleet, two forwarding threads each, over real sockets in a network namespace of
 * their own (underlay addresses on its loopback only; deleted by its exact name however the test
 * ends). The fake VPC answers node A's ARP requests to node B, as ECMP toward the anycast address
 * may: B relays the answer to A, whose held packets then leave, and every NAT port A hands out is
 * in A's blocks of the plan.
 */
@Timeout(90)
class FleetNodeTest {
    private static final String NAMESPACE = "hp-nodetest-fleet";
    private static final String NODE_A = "198.18.200.1";
    private static final String NODE_B = "198.18.200.2";
    private static final String HOST_VTEP = "198.18.200.3";
    private static final String VPC_VTEP = "198.18.200.4";
    private static final int VXLAN = 4789;
    private static final int THREADS = 2;
    private static final int FLOWS = 200;
    private static final int FIRST_PORT = 30_000;
    private static final int REMOTE_PORT = 5432;

    @TempDir
    Path dir;
    private ForwarderNode a;
    private ForwarderNode b;
    private DatagramSocket host;
    private DatagramSocket vpc;
    private FleetPlan plan;

    @BeforeEach
    void start() throws IOException, InterruptedException {
        assumeTrue("root".equals(System.getProperty("user.name")), "making a network namespace needs root");
        if (Files.exists(Path.of("/run/netns", NAMESPACE))) {
            run("ip", "netns", "delete", NAMESPACE); // left by a run that was killed
        }
        run("ip", "netns", "add", NAMESPACE);
        run("ip", "netns", "exec", NAMESPACE, "ip", "link", "set", "lo", "up");
        for (String ip : List.of(NODE_A, NODE_B, HOST_VTEP, VPC_VTEP)) {
            run("ip", "netns", "exec", NAMESPACE, "ip", "addr", "add", ip + "/32", "dev", "lo");
        }
        Path config = dir.resolve("node.json");
        SnapshotJson.writeAtomically(TestConfigs.wayOut(1, privateRoutesToNat(), publicRoutesToIgw(), defaultAcl(), HOST_VTEP, VPC_VTEP),
                config);
        a = startNode("a", NODE_A, config);
        b = startNode("b", NODE_B, config);
        plan = FleetPlan.of(1, List.of(new FleetPlan.Candidate(1, "a", NODE_A, true), new FleetPlan.Candidate(2, "b", NODE_B, true)));
        a.fleet(plan);
        b.fleet(plan);
        host = NetworkNamespace.call(NAMESPACE, () -> new DatagramSocket(new InetSocketAddress(HOST_VTEP, VXLAN)));
        vpc = NetworkNamespace.call(NAMESPACE, () -> new DatagramSocket(new InetSocketAddress(VPC_VTEP, VXLAN)));
    }

    private ForwarderNode startNode(String name, String ip, Path config) throws IOException {
        return ForwarderNode.start(new NodeSettings().name(name).listen(ip + ":" + VXLAN).configFile(config)
                .countersFile(dir.resolve(name + ".counters")).flowCapacity(1 << 14).threads(THREADS).netns(NAMESPACE));
    }

    @AfterEach
    void stop() throws IOException, InterruptedException {
        for (AutoCloseable c : new AutoCloseable[] {a, b, host, vpc}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        }
        if (Files.exists(Path.of("/run/netns", NAMESPACE))) {
            run("ip", "netns", "delete", NAMESPACE);
        }
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }

    @Test
    void shouldRelayArpAnswersToTheMemberThatAskedAndTakeNatPortsFromItsBlocks() throws IOException {
        Set<Integer> reached = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (reached.size() < FLOWS && System.nanoTime() < deadline) {
            for (int i = 0; i < FLOWS; i++) {
                if (!reached.contains(FIRST_PORT + i)) {
                    send(host, NODE_A, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, FIRST_PORT + i, RES1, REMOTE_PORT, TcpHeader.SYN, 0));
                }
            }
            for (FrameDecoder d = receive(vpc); d != null; d = receive(vpc)) {
                if (d.etherType() == EthernetHeader.TYPE_ARP) {
                    // The answer goes to the other node, as ECMP toward the anycast address may send it.
                    send(vpc, NODE_B, TestFrames.arp(d.vxlan.vni(), RES1_MAC, d.arp.senderMac(), ArpPacket.REPLY, RES1_MAC, RES1,
                            d.arp.senderMac(), d.arp.senderIp()));
                    continue;
                }
                int natPort = d.tcp.sourcePort();
                assertThat(plan.owner(FleetPlan.blockOf(natPort)).name()).as("owner of NAT port %d", natPort).isEqualTo("a");
                reached.add(natPort);
            }
        }
        assertThat(reached).as("every SYN left node A").hasSize(FLOWS);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            CountersFile.Snapshot ca = CountersFile.read(dir.resolve("a.counters"));
            CountersFile.Snapshot cb = CountersFile.read(dir.resolve("b.counters"));
            assertThat(cb.get(Counter.ARP_RELAYED)).as("B relayed the answers").isPositive();
            assertThat(ca.get(Counter.ARP_RELAYED_IN)).isEqualTo(cb.get(Counter.ARP_RELAYED));
            assertThat(ca.get(Counter.ARP_RELAYED)).as("a relayed frame is never relayed again").isZero();
            assertThat(ca.get(Counter.DROP_SPOOF)).as("the relayed frame kept the VPC's outer source").isZero();
            assertThat(ca.thread(1, Counter.HANDED_IN)).as("thread 0 handed the relayed answers to thread 1").isPositive();
        });
    }

    private static void send(DatagramSocket from, String node, ByteBuffer frame) throws IOException {
        from.send(new DatagramPacket(frame.array(), frame.limit(), InetAddress.getByName(node), VXLAN));
    }

    /** The next datagram, or null when none came within a short while. */
    private static FrameDecoder receive(DatagramSocket at) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        at.setSoTimeout(200);
        try {
            at.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        FrameDecoder d = new FrameDecoder();
        assertThat(d.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength()), 0, p.getLength())).isEqualTo(Malformation.NONE);
        return d;
    }
}
