package io.hyperplane.node;

import io.hyperplane.config.SnapshotJson;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.flow.ThreadSteering;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.Ipv4Header;
import io.hyperplane.packet.Malformation;
import io.hyperplane.packet.TcpHeader;
import io.hyperplane.packet.VxlanHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

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
    /** The security group lets UDP out to 53 only. */
    private static final int DNS = 53;

    @TempDir
    Path dir;
    private TestNamespace namespace;
    private ForwarderNode a;
    private ForwarderNode b;
    private DatagramSocket host;
    private DatagramSocket vpc;
    private FleetPlan plan;

    @BeforeEach
    void start() throws IOException, InterruptedException {
        assumeTrue("root".equals(System.getProperty("user.name")), "making a network namespace needs root");
        namespace = TestNamespace.create(NAMESPACE, NODE_A, NODE_B, HOST_VTEP, VPC_VTEP);
        Path config = dir.resolve("node.json");
        SnapshotJson.writeAtomically(TestConfigs.wayOut(1, privateRoutesToNat(), publicRoutesToIgw(), defaultAcl(), HOST_VTEP, VPC_VTEP),
                config);
        a = startNode("a", NODE_A, config);
        b = startNode("b", NODE_B, config);
        plan = FleetPlan.of(1, List.of(new FleetPlan.Candidate(1, "a", NODE_A, true), new FleetPlan.Candidate(2, "b", NODE_B, true)));
        a.fleet(plan);
        b.fleet(plan);
        host = namespace.socket(HOST_VTEP, VXLAN);
        vpc = namespace.socket(VPC_VTEP, VXLAN);
    }

    private ForwarderNode startNode(String name, String ip, Path config) throws IOException {
        return ForwarderNode.start(new NodeSettings().name(name).listen(ip + ":" + VXLAN).configFile(config)
                .countersFile(dir.resolve(name + ".counters")).flowCapacity(1 << 14).batchSize(4).threads(THREADS).netns(NAMESPACE));
    }

    @AfterEach
    void stop() throws IOException, InterruptedException {
        Exception failure = null;
        for (AutoCloseable c : new AutoCloseable[] {a, b, host, vpc, namespace}) { // the namespace last, whatever failed before it
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
        }
        if (failure != null) {
            throw new IOException(failure);
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

    /**
     * A new TCP flow's SYN leaves A only once B acknowledged its copy (the SYN was held, nothing
     * went unprotected); then A dies abruptly and the connection's next packets reach B, as the
     * senders' re-pointed next hop brings them: B promotes the copy and carries them with A's NAT
     * port, both ways, with no reset.
     */
    @Test
    void shouldCopyAFlowToTheBackupBeforeItsFirstPacketAndCarryItOnAfterTheOwnerDies() throws IOException {
        resolveOn(NODE_A, 40_000);
        send(host, NODE_A, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_000, RES1, REMOTE_PORT, TcpHeader.SYN, 0));
        FrameDecoder syn = receiveTcp(vpc, NODE_A);
        int natPort = syn.tcp.sourcePort();
        assertThat(plan.owner(FleetPlan.blockOf(natPort)).name()).isEqualTo("a");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            CountersFile.Snapshot ca = CountersFile.read(dir.resolve("a.counters"));
            CountersFile.Snapshot cb = CountersFile.read(dir.resolve("b.counters"));
            // Held: the SYN (and the warm-up packet too, if B's acknowledgement was slower than the ARP answer).
            assertThat(ca.get(Counter.REPLICATION_HELD)).as("the SYN waited for the copy's acknowledgement").isPositive();
            assertThat(ca.get(Counter.REPLICATION_UNPROTECTED)).as("no first packet left before its copy").isZero();
            assertThat(ca.get(Counter.REPLICATION_ACKED)).isEqualTo(2);
            assertThat(ca.get(Counter.REPLICATION_LAG_MS)).isZero();
            assertThat(cb.get(Counter.REPLICAS)).as("the warm-up flow and the SYN's").isEqualTo(2);
        });

        a.close();
        send(vpc, NODE_B, TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, REMOTE_PORT, ENI_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0));
        FrameDecoder synAck = receiveTcp(host, NODE_B);
        assertThat(synAck.ip.destination()).isEqualTo(EE1_IP);
        assertThat(synAck.tcp.destinationPort()).isEqualTo(40_000);
        assertThat(synAck.tcp.flags() & TcpHeader.RST).isZero();
        send(host, NODE_B, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_000, RES1, REMOTE_PORT, TcpHeader.ACK, 10));
        FrameDecoder data = receiveTcp(vpc, NODE_B);
        assertThat(data.tcp.sourcePort()).as("A's NAT port, kept").isEqualTo(natPort);
        assertThat(data.ip.source()).isEqualTo(ENI_IP);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            CountersFile.Snapshot cb = CountersFile.read(dir.resolve("b.counters"));
            assertThat(cb.get(Counter.REPLICA_PROMOTIONS)).isEqualTo(1);
            assertThat(cb.get(Counter.DROP_NO_FLOW)).isZero();
        });
    }

    /** With its backup gone, a node forwards a new flow's first packet after a short wait rather than never, and counts it. */
    @Test
    void shouldForwardWithoutTheCopyWhenTheBackupIsSilent() throws IOException {
        resolveOn(NODE_A, 40_001);
        b.close();
        send(host, NODE_A, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_001, RES1, REMOTE_PORT, TcpHeader.SYN, 0));
        assertThat(receiveTcp(vpc, NODE_A).ip.source()).isEqualTo(ENI_IP);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(CountersFile.read(dir.resolve("a.counters")).get(Counter.REPLICATION_UNPROTECTED)).isPositive());
    }

    /**
     * B out of service (A has no backup): A's flows are copied nowhere. B back in service: A
     * copies every flow it has to it, idle ones included, as it does for any new backup (a node
     * that returns is its predecessor's backup again).
     */
    @Test
    void shouldCopyEveryFlowToABackupThatComesBack() throws IOException {
        FleetPlan bAway = FleetPlan.of(2, List.of(new FleetPlan.Candidate(1, "a", NODE_A, true), new FleetPlan.Candidate(2, "b", NODE_B, false)));
        a.fleet(bAway);
        b.fleet(bAway);
        int flows = 50;
        openUdpFlowsThroughA(flows);
        assertThat(counters("b").get(Counter.REPLICAS)).as("no backup, no copies").isZero();
        assertThat(a.syncedTo()).as("nothing copied anywhere").isEmpty();

        FleetPlan bBack = FleetPlan.of(3, List.of(new FleetPlan.Candidate(1, "a", NODE_A, true), new FleetPlan.Candidate(2, "b", NODE_B, true)));
        a.fleet(bBack);
        b.fleet(bBack);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(counters("b").get(Counter.REPLICAS)).isEqualTo(flows));
        await().atMost(Duration.ofSeconds(10)).until(() -> a.syncedTo().equals(NODE_B)); // what its heartbeat tells the control plane
        assertThat(a.synced().incarnation()).isEqualTo(b.incarnation());
    }

    /**
     * B restarts in place (a new process on its address, without the copies) and the plan does not
     * change: A's channel hears B's acknowledgements come from another incarnation (its keepalive
     * asks when no flow changes) and copies every flow to the new process; what A reports copied
     * names the new incarnation only once that is done.
     */
    @Test
    void shouldCopyEveryFlowAgainToABackupThatRestartedInPlace() throws IOException {
        int flows = 50;
        openUdpFlowsThroughA(flows);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(counters("b").get(Counter.REPLICAS)).isEqualTo(flows));
        await().atMost(Duration.ofSeconds(10)).until(() -> b.incarnation().equals(a.synced().incarnation()));
        String before = b.incarnation();

        b.close();
        b = ForwarderNode.start(new NodeSettings().name("b").listen(NODE_B + ":" + VXLAN).configFile(dir.resolve("node.json"))
                .countersFile(dir.resolve("b2.counters")).flowCapacity(1 << 14).batchSize(4).threads(THREADS).netns(NAMESPACE));
        b.fleet(plan);
        assertThat(b.incarnation()).isNotEqualTo(before);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(counters("b2").get(Counter.REPLICAS)).as("every flow on the new process").isEqualTo(flows);
            assertThat(a.synced().incarnation()).isEqualTo(b.incarnation());
            assertThat(counters("a").get(Counter.REPLICATION_BACKUP_RESTARTS)).as("once per thread").isEqualTo(THREADS);
        });
    }

    /**
     * A is away and B makes a flow whose packets would go to A's slot; B hands its flows to A when A
     * returns, then both serve. The flow's next packet reaches A, which holds a copy whose NAT port
     * is in B's blocks: A passes it on to B, which forwards it with its port and gets its reply.
     * The flow keeps one owner: A takes nothing over.
     */
    @Test
    void shouldPassAFlowsPacketsOnToTheMemberThatMadeItWhileThisOneWasAway() throws IOException {
        FleetPlan aAway = FleetPlan.of(2, List.of(new FleetPlan.Candidate(1, "a", NODE_A, false), new FleetPlan.Candidate(2, "b", NODE_B, true)));
        a.fleet(aAway);
        b.fleet(aAway);
        resolveOn(NODE_B, 40_002);
        send(host, NODE_B, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_002, RES1, REMOTE_PORT, TcpHeader.SYN, 0));
        int natPort = receiveTcp(vpc, NODE_B).tcp.sourcePort();
        assertThat(aAway.owner(FleetPlan.blockOf(natPort)).name()).isEqualTo("b");

        FleetPlan handBack = FleetPlan.of(3, List.of(new FleetPlan.Candidate(1, "a", NODE_A, false),
                new FleetPlan.Candidate(2, "b", NODE_B, true))).handingBack(2, 1);
        a.fleet(handBack);
        b.fleet(handBack);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(counters("a").get(Counter.REPLICAS)).isEqualTo(2));
        FleetPlan both = FleetPlan.of(4, List.of(new FleetPlan.Candidate(1, "a", NODE_A, true), new FleetPlan.Candidate(2, "b", NODE_B, true)));
        a.fleet(both);
        b.fleet(both);

        send(vpc, NODE_B, TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, REMOTE_PORT, ENI_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0));
        assertThat(receiveTcp(host, NODE_B).tcp.destinationPort()).isEqualTo(40_002);
        send(host, NODE_A, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_002, RES1, REMOTE_PORT, TcpHeader.ACK, 10));
        FrameDecoder data = receiveTcp(vpc, NODE_B);
        assertThat(data.tcp.sourcePort()).as("B's NAT port").isEqualTo(natPort);
        assertThat(data.tcp.flags() & TcpHeader.RST).isZero();
        // The relay mark stays between members: B sends the frame on as RFC 7348 has senders write a header
        // (the I flag, every reserved bit zero), which a kernel VTEP requires: it drops a frame with any other bit set.
        assertThat(data.buffer().getInt(0)).as("B's VXLAN flags and first reserved bytes").isEqualTo(VxlanHeader.FLAG_I << 24);
        assertThat(data.buffer().get(VxlanHeader.LENGTH - 1)).as("B's VXLAN last reserved byte").isZero();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(counters("a").get(Counter.REDIRECTED_TO_OWNER)).isEqualTo(1);
            assertThat(counters("a").get(Counter.REPLICA_PROMOTIONS)).as("A took nothing over").isZero();
            assertThat(counters("b").get(Counter.REDIRECTED_IN)).isEqualTo(1);
            assertThat(counters("b").get(Counter.DROP_NO_FLOW)).isZero();
            assertThat(counters("b").get(Counter.DROP_SPOOF)).as("its original outer source came with it").isZero();
        });
    }

    /** Opens {@code flows} UDP flows from the EE through A (answering A's ARP), every one's first packet through. */
    private void openUdpFlowsThroughA(int flows) throws IOException {
        Set<Integer> reached = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (reached.size() < flows && System.nanoTime() < deadline) {
            for (int i = 0; i < flows; i++) {
                if (!reached.contains(20_000 + i)) {
                    send(host, NODE_A, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 20_000 + i, RES1, DNS, 8));
                }
            }
            for (FrameDecoder d = receive(vpc); d != null; d = receive(vpc)) {
                if (d.etherType() == EthernetHeader.TYPE_ARP) {
                    answerArp(d, NODE_A);
                } else {
                    reached.add(d.udp.sourcePort());
                }
            }
        }
        assertThat(reached).hasSize(flows);
    }

    /**
     * What replication costs a new flow, measured (the bench row, taken here because the
     * bench's lab runs one node): bursts of 100 new UDP flows through A, each burst sent once its
     * predecessor's first packets all arrived, with B as backup and then with A alone. The test's
     * one sending thread is the load generator on the same 2 vCPUs, so the rates are latency-bound
     * and for comparison only.
     */
    @Test
    void shouldReportWhatReplicationCostsNewFlows() throws IOException {
        ThreadSteering steering = new ThreadSteering(THREADS);
        int other = 40_000;
        while (steering.thread(other + REMOTE_PORT) == steering.thread(40_000 + REMOTE_PORT)) {
            other++;
        }
        resolveOn(NODE_A, 40_000);
        resolveOn(NODE_A, other);
        double replicated = burstsPerSecond(10_000);
        await().atMost(Duration.ofSeconds(5)).until(() -> counters("a").get(Counter.REPLICATION_ACKED) >= BURST * BURSTS);
        CountersFile.Snapshot c = counters("a");
        FleetPlan alone = FleetPlan.of(2, List.of(new FleetPlan.Candidate(1, "a", NODE_A, true)));
        a.fleet(alone);
        double unreplicated = burstsPerSecond(20_000);
        System.out.printf("new flows/s through A, bursts of %d: %.0f with replication to B, %.0f alone (%.2fx); "
                        + "%d records, %d bytes of channel payload sent by A, %d held first packets, %d unprotected%n",
                BURST, replicated, unreplicated, replicated / unreplicated, c.get(Counter.REPLICATION_SENT),
                c.get(Counter.REPLICATION_BYTES), c.get(Counter.REPLICATION_HELD), c.get(Counter.REPLICATION_UNPROTECTED));
        assertThat(replicated).isPositive();
    }

    private static final int BURST = 100;
    private static final int BURSTS = 20;

    private double burstsPerSecond(int firstPort) throws IOException {
        long start = System.nanoTime();
        for (int burst = 0; burst < BURSTS; burst++) {
            Set<Integer> reached = new HashSet<>();
            int base = firstPort + burst * BURST;
            for (int i = 0; i < BURST; i++) {
                send(host, NODE_A, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, base + i, RES1, DNS, 8));
            }
            while (reached.size() < BURST) {
                FrameDecoder d = receive(vpc);
                assertThat(d).as("burst %d: %d of %d arrived", burst, reached.size(), BURST).isNotNull();
                if (d.etherType() == EthernetHeader.TYPE_IPV4) {
                    reached.add(d.udp.sourcePort());
                }
            }
        }
        return BURST * BURSTS / ((System.nanoTime() - start) / 1e9);
    }

    /**
     * 30% of the datagrams toward B's channel dropped (an nft rule in the namespace matching the
     * fleet message's first byte): every flow's copy still reaches B, by resends.
     */
    @Test
    void shouldConvergeWhenReplicationDatagramsAreLost() throws IOException, InterruptedException {
        TestNamespace.run("ip", "netns", "exec", NAMESPACE, "nft", "add", "table", "inet", "hplosstest");
        TestNamespace.run("ip", "netns", "exec", NAMESPACE, "nft", "add", "chain", "inet", "hplosstest", "input",
                "{ type filter hook input priority 0 ; }");
        TestNamespace.run("ip", "netns", "exec", NAMESPACE, "nft", "add", "rule", "inet", "hplosstest", "input", "ip", "daddr", NODE_B, "udp", "dport",
                String.valueOf(VXLAN), "@th,64,8", "0x46", "numgen", "random", "mod", "100", "<", "30", "drop");
        int flows = 300;
        Set<Integer> reached = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (reached.size() < flows && System.nanoTime() < deadline) {
            for (int i = 0; i < flows; i++) {
                if (!reached.contains(20_000 + i)) {
                    send(host, NODE_A, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 20_000 + i, RES1, 53, 8));
                }
            }
            for (FrameDecoder d = receive(vpc); d != null; d = receive(vpc)) {
                if (d.etherType() == EthernetHeader.TYPE_ARP) {
                    answerArp(d, NODE_A);
                } else {
                    reached.add(d.udp.sourcePort());
                }
            }
        }
        assertThat(reached).as("every first packet left A").hasSize(flows);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            CountersFile.Snapshot ca = CountersFile.read(dir.resolve("a.counters"));
            CountersFile.Snapshot cb = CountersFile.read(dir.resolve("b.counters"));
            assertThat(ca.get(Counter.FLOWS_ACTIVE)).isEqualTo(flows);
            assertThat(cb.get(Counter.REPLICAS)).as("every copy on B").isEqualTo(flows);
            assertThat(ca.get(Counter.REPLICATION_RESENT)).as("losses made good by resends").isPositive();
            assertThat(ca.get(Counter.REPLICATION_LAG_MS)).isZero();
        });
    }

    /**
     * Zero allocation per packet on a forwarding thread with replication on: an established flow's
     * data (refreshed to the backup once a second) with a new UDP flow every 200 packets (each copied,
     * its first packet held until B acknowledges), measured as ForwarderNodeTest measures it.
     */
    @Test
    void shouldNotAllocatePerPacketWithReplicationOn() throws IOException {
        resolveOn(NODE_A, 40_000);
        send(host, NODE_A, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_000, RES1, REMOTE_PORT, TcpHeader.SYN, 0));
        int natPort = receiveTcp(vpc, NODE_A).tcp.sourcePort();
        send(vpc, NODE_A, TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, REMOTE_PORT, ENI_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0));
        receiveTcp(host, NODE_A);
        int thread = new ThreadSteering(THREADS).thread(40_000 + REMOTE_PORT);
        ByteBuffer data = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40_000, RES1, REMOTE_PORT, TcpHeader.ACK, 64);
        DatagramPacket packet = new DatagramPacket(data.array(), data.limit(), InetAddress.getByName(NODE_A), VXLAN);
        int[] newFlows = {0};
        sendMix(packet, thread, newFlows, 200_000);
        awaitSettled(thread);
        CountersFile.Snapshot before = counters("a");
        sendMix(packet, thread, newFlows, 200_000);
        awaitSettled(thread);
        CountersFile.Snapshot after = counters("a");
        long forwarded = after.thread(thread, Counter.FORWARDED_TO_VPC) - before.thread(thread, Counter.FORWARDED_TO_VPC);
        long allocated = after.thread(thread, Counter.ALLOCATED_BYTES_FORWARDING_THREAD)
                - before.thread(thread, Counter.ALLOCATED_BYTES_FORWARDING_THREAD);
        long copies = after.thread(thread, Counter.REPLICATION_SENT) - before.thread(thread, Counter.REPLICATION_SENT);
        long held = after.thread(thread, Counter.REPLICATION_HELD) - before.thread(thread, Counter.REPLICATION_HELD);
        long bytes = after.thread(thread, Counter.REPLICATION_BYTES) - before.thread(thread, Counter.REPLICATION_BYTES);
        long flows = after.thread(thread, Counter.FLOWS_CREATED) - before.thread(thread, Counter.FLOWS_CREATED);
        System.out.printf("forwarding thread %d with replication: %d bytes allocated over %d forwarded packets (%.4f B/packet), "
                + "%d records sent (%d bytes of channel payload from A) for %d new flows, %d first packets held%n", thread, allocated,
                forwarded, (double) allocated / forwarded, copies, bytes, flows, held);
        assertThat(forwarded).as("measured over enough packets (the rest overflowed a cold or busy node)").isGreaterThan(50_000);
        assertThat(held).as("new flows' first packets waited for their copies").isPositive();
        assertThat((double) allocated / forwarded).isLessThan(0.05);
    }

    /**
     * Until A's thread has forwarded what it will of a blast: its count unchanged over two reads
     * 300 ms apart (the machine's other work, not this test, decides how long a blast takes).
     */
    private void awaitSettled(int thread) {
        long[] last = {-1};
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            long now = counters("a").thread(thread, Counter.FORWARDED_TO_VPC);
            boolean settled = now == last[0];
            last[0] = now;
            return settled;
        });
    }

    /** {@code count} data packets of the established flow, every 200th replaced by a new UDP flow's first packet on the same thread. */
    private void sendMix(DatagramPacket data, int thread, int[] newFlows, int count) throws IOException {
        ThreadSteering steering = new ThreadSteering(THREADS);
        for (int i = 0; i < count; i++) {
            if (i % 200 == 199) {
                int port = 10_000 + newFlows[0]++;
                while (steering.thread(port + DNS) != thread) {
                    port = 10_000 + newFlows[0]++;
                }
                send(host, NODE_A, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, port, RES1, DNS, 8));
            } else {
                host.send(data);
            }
            if (i % 500 == 499) {
                LockSupport.parkNanos(500_000); // paced, as ForwarderNodeTest: a cold path must not drown in overflows
            }
        }
    }

    private static List<Map<String, Long>> nonZero(CountersFile.Snapshot snapshot) {
        return snapshot.threads().stream().map(t -> {
            Map<String, Long> shown = new TreeMap<>(t);
            shown.values().removeIf(v -> v == 0);
            return (Map<String, Long>) shown;
        }).toList();
    }

    private CountersFile.Snapshot counters(String node) throws IOException {
        return CountersFile.read(dir.resolve(node + ".counters"));
    }

    /**
     * Teaches the thread that will own TCP {@code sourcePort -> RES1:REMOTE_PORT} RES1's MAC with a
     * UDP flow to RES1's DNS port on that thread (each thread resolves its own next hops; the port sum picks it),
     * so that TCP flow's first packet waits for nothing but its copy.
     */
    private void resolveOn(String node, int sourcePort) throws IOException {
        ThreadSteering steering = new ThreadSteering(THREADS);
        int udpPort = 30_000;
        while (steering.thread(udpPort + DNS) != steering.thread(sourcePort + REMOTE_PORT)) {
            udpPort++;
        }
        send(host, node, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, udpPort, RES1, DNS, 8));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            FrameDecoder d = receive(vpc);
            if (d == null) {
                continue;
            }
            if (d.etherType() == EthernetHeader.TYPE_ARP) {
                answerArp(d, node);
                continue;
            }
            if (d.protocol() == Ipv4Header.PROTOCOL_UDP && d.udp.destinationPort() == DNS) {
                return;
            }
        }
        throw new AssertionError("the VPC never got the warm-up packet from " + node + "; threads' counters: "
                + nonZero(counters("a")) + " / " + nonZero(counters("b")));
    }

    private void answerArp(FrameDecoder request, String node) throws IOException {
        send(vpc, node, TestFrames.arp(request.vxlan.vni(), RES1_MAC, request.arp.senderMac(), ArpPacket.REPLY, RES1_MAC, RES1,
                request.arp.senderMac(), request.arp.senderIp()));
    }

    /** The next TCP segment {@code at} receives; the VPC's ARP requests meanwhile are answered to {@code node}. */
    private FrameDecoder receiveTcp(DatagramSocket at, String node) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            FrameDecoder d = receive(at);
            if (d != null && d.etherType() == EthernetHeader.TYPE_IPV4 && d.protocol() == Ipv4Header.PROTOCOL_TCP) {
                return d;
            }
            FrameDecoder fromVpc = at == vpc ? d : receive(vpc);
            if (fromVpc != null && fromVpc.etherType() == EthernetHeader.TYPE_ARP) {
                answerArp(fromVpc, node);
            }
        }
        throw new AssertionError("no TCP segment arrived");
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
