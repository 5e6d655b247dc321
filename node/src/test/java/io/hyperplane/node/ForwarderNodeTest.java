package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.flow.ThreadSteering;
import io.hyperplane.linux.underlay.LivenessProbe;
import io.hyperplane.packet.ArpPacket;
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
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The node daemon over real UDP sockets on loopback: 127.0.0.1 is the node, 127.0.0.2 plays the
 * worker host's VTEP and 127.0.0.3 the VPC's. No namespaces needed; the lab tests cover those.
 */
@Timeout(60)
class ForwarderNodeTest {
    private static final String NODE = "127.0.0.1";
    private static final String HOST_VTEP = "127.0.0.2";
    private static final String VPC_VTEP = "127.0.0.3";
    private static final int VXLAN = 4789;

    @TempDir
    Path dir;
    private Path configFile;
    private ForwarderNode node;
    private DatagramSocket host;
    private DatagramSocket vpc;

    @BeforeEach
    void start() throws IOException {
        configFile = dir.resolve("node.json");
        SnapshotJson.writeAtomically(snapshot(1, TestConfigs.defaultAcl()), configFile);
        node = ForwarderNode.start(new NodeSettings().name("t1").listen(NODE + ":" + VXLAN).configFile(configFile)
                .flowCapacity(1 << 16).configPoll(Duration.ofMillis(20)));
        host = new DatagramSocket(new InetSocketAddress(HOST_VTEP, VXLAN));
        vpc = new DatagramSocket(new InetSocketAddress(VPC_VTEP, VXLAN));
        host.setSoTimeout(5000);
        vpc.setSoTimeout(5000);
    }

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
        if (host != null) {
            host.close();
        }
        if (vpc != null) {
            vpc.close();
        }
    }

    private static NodeSnapshot snapshot(long version, List<NodeSnapshot.NetworkAclEntry> acl) {
        return TestConfigs.snapshot(version, acl, TestConfigs.defaultRoutes(), HOST_VTEP, VPC_VTEP);
    }

    private static void send(DatagramSocket from, ByteBuffer frame) throws IOException {
        from.send(new DatagramPacket(frame.array(), frame.limit(), InetAddress.getByName(NODE), VXLAN));
    }

    private static FrameDecoder receive(DatagramSocket at) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        at.receive(p);
        assertThat(p.getPort()).isEqualTo(VXLAN);
        FrameDecoder d = new FrameDecoder();
        assertThat(d.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength()), 0, p.getLength())).isEqualTo(Malformation.NONE);
        return d;
    }

    private CountersFile.Snapshot counters() throws IOException {
        return CountersFile.read(node.settings().countersFile());
    }

    /** SYN from EE 1 through the node, ARP answered by the "VPC", SYN-ACK back to the EE. Returns the NAT port. */
    private int handshake(int eePort) throws IOException {
        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, eePort, RES1, 5432, TcpHeader.SYN, 0));
        FrameDecoder first = receive(vpc);
        if (first.etherType() == 0x0806) {
            assertThat(first.arp.targetIp()).isEqualTo(RES1);
            send(vpc, TestFrames.arp(SUBNET1_VNI, RES1_MAC, ENI_MAC, ArpPacket.REPLY, RES1_MAC, RES1, ENI_MAC, ENI_IP));
            first = receive(vpc);
        }
        assertThat(first.ip.source()).isEqualTo(ENI_IP);
        int natPort = first.tcp.sourcePort();
        send(vpc, TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0));
        FrameDecoder back = receive(host);
        assertThat(back.ip.destination()).isEqualTo(EE1_IP);
        assertThat(back.tcp.destinationPort()).isEqualTo(eePort);
        return natPort;
    }

    private static NodeSnapshot wayOut(long version) {
        return TestConfigs.wayOut(version, privateRoutesToNat(), publicRoutesToIgw(), defaultAcl(), HOST_VTEP, VPC_VTEP);
    }

    /**
     * A SYN from a private host that the VPC router hands to the NAT gateway, the NAT gateway's ARP
     * for the router answered, the SYN-ACK from the internet back to the host. Returns the NAT port.
     */
    private int natHandshake(int sourcePort) throws IOException {
        send(vpc, TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, sourcePort, INTERNET_HOST, 80, TcpHeader.SYN, 0));
        FrameDecoder first = receive(vpc);
        if (first.etherType() == 0x0806) {
            assertThat(first.arp.targetIp()).isEqualTo(PUBLIC_ROUTER);
            send(vpc, TestFrames.arp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, ArpPacket.REPLY, PUBLIC_ROUTER_MAC, PUBLIC_ROUTER, NAT_MAC, NAT_IP));
            first = receive(vpc);
        }
        assertThat(first.ip.source()).isEqualTo(NAT_IP);
        int natPort = first.tcp.sourcePort();
        send(vpc, TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0));
        FrameDecoder back = receive(vpc);
        assertThat(back.ip.destination()).isEqualTo(RES2);
        assertThat(back.tcp.destinationPort()).isEqualTo(sourcePort);
        return natPort;
    }

    @Test
    void shouldPublishNatGatewayMetricsInTheCountersFile() throws IOException {
        SnapshotJson.writeAtomically(wayOut(2), configFile);
        await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(Counter.CONFIG_VERSION) == 2);
        natHandshake(40000);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            Map<String, Long> metrics = counters().natGateways().get(NAT_ID);
            assertThat(metrics).containsEntry("ActiveConnectionCount", 1L).containsEntry("ConnectionAttemptCount", 1L)
                    .containsEntry("ConnectionEstablishedCount", 1L).containsEntry("PacketsOutToSource", 1L)
                    .containsEntry("ErrorPortAllocation", 0L);
        });
        SnapshotJson.writeAtomically(snapshot(3, TestConfigs.defaultAcl()), configFile);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(counters().natGateways()).isEmpty());
    }

    /** The limit and the idle timeout scaled down as a test of the way out would: 2 per destination, 1 s idle. */
    @Test
    void shouldScaleTheNatGatewaysLimitAndIdleTimeoutByNodeSettings() throws IOException {
        node.close();
        SnapshotJson.writeAtomically(wayOut(1), configFile);
        node = ForwarderNode.start(new NodeSettings().name("t1").listen(NODE + ":" + VXLAN).configFile(configFile)
                .flowCapacity(1024).natConnectionsPerDestination(2).tcpEstablishedTimeout(Duration.ofSeconds(1)));
        natHandshake(40000);
        natHandshake(40001);
        send(vpc, TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, 40002, INTERNET_HOST, 80, TcpHeader.SYN, 0));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(counters().natGateways().get(NAT_ID)).containsEntry("ErrorPortAllocation", 1L));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(counters().natGateways().get(NAT_ID)).containsEntry("IdleTimeoutCount", 2L).containsEntry("ActiveConnectionCount", 0L));
        natHandshake(40002);
    }

    @Test
    void shouldForwardBothWaysOverRealSockets() throws IOException {
        handshake(40000);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            CountersFile.Snapshot c = counters();
            assertThat(c.get(Counter.FORWARDED_TO_VPC)).isEqualTo(1);
            assertThat(c.get(Counter.FORWARDED_TO_EE)).isEqualTo(1);
            assertThat(c.get(Counter.FLOWS_ACTIVE)).isEqualTo(1);
            assertThat(c.natPortsByEni()).containsEntry("10.0.1.4 vni 1001", 1L);
            assertThat(c.node()).isEqualTo("t1");
            assertThat(c.processAlive()).isTrue();
        });
    }

    @Test
    void shouldReloadTheConfigWithoutDroppingEstablishedFlows() throws IOException {
        int natPort = handshake(40000);
        var denyDb = List.of(new NodeSnapshot.NetworkAclEntry(10, true, "tcp", "deny", "10.0.1.10/32", 80, 80, -1, -1),
                TestConfigs.allowAll(100, true), TestConfigs.allowAll(100, false));
        SnapshotJson.writeAtomically(snapshot(2, denyDb), configFile);
        await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(Counter.CONFIG_VERSION) == 2);

        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 100));
        FrameDecoder data = receive(vpc);
        assertThat(data.tcp.sourcePort()).isEqualTo(natPort);
        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40001, RES1, 80, TcpHeader.SYN, 0));
        await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(Counter.DROP_NACL_DENY) == 1);
    }

    @Test
    void shouldKeepTheLastGoodConfigWhenTheFileBecomesInvalid() throws IOException {
        Files.writeString(configFile, "{\"version\": 2, \"eeGateway\": {\"ip\": \"300.1.1.1\", \"mac\": \"02:00:00:00:00:01\"}}");
        await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(Counter.CONFIG_REJECTED) >= 1);
        assertThat(counters().get(Counter.CONFIG_VERSION)).isEqualTo(1);
        handshake(40000);
    }

    @Test
    void shouldSurviveAFloodOfGarbageAndKeepForwarding() throws IOException {
        SplittableRandom random = new SplittableRandom(20261123L);
        byte[] garbage = new byte[1500];
        InetAddress nodeAddress = InetAddress.getByName(NODE);
        int sent = 100_000;
        for (int i = 0; i < sent; i++) {
            int length = random.nextInt(garbage.length + 1);
            for (int j = 0; j < length; j++) {
                garbage[j] = (byte) random.nextInt();
            }
            if (length > 8 && random.nextBoolean()) {
                garbage[0] = 0x08; // a valid VXLAN flag byte now and then, so deeper layers get garbage too
            }
            host.send(new DatagramPacket(garbage, length, nodeAddress, VXLAN));
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            CountersFile.Snapshot c = counters();
            long dropped = c.get(Counter.DROP_MALFORMED) + c.get(Counter.DROP_UNKNOWN_VNI) + c.get(Counter.DROP_SPOOF);
            assertThat(dropped).isPositive().isEqualTo(c.get(Counter.RECEIVED));
        });
        handshake(40000);
        assertThat(counters().processAlive()).isTrue();
    }

    @Test
    void shouldCountDatagramsTheKernelDropsAtAFullReceiveBuffer() throws IOException {
        node.close();
        node = ForwarderNode.start(new NodeSettings().name("t1").listen(NODE + ":" + VXLAN).configFile(configFile)
                .flowCapacity(1024).batchSize(1).socketBufferBytes(4096).configPoll(Duration.ofMillis(20)));
        byte[] garbage = new byte[200];
        DatagramPacket packet = new DatagramPacket(garbage, garbage.length, InetAddress.getByName(NODE), VXLAN);
        int sent = 50_000;
        for (int i = 0; i < sent; i++) {
            host.send(packet);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            CountersFile.Snapshot c = counters();
            assertThat(c.get(Counter.DROP_SOCKET_OVERFLOW)).as("overload loss is counted, not silent").isPositive();
            assertThat(c.get(Counter.RECEIVED) + c.get(Counter.DROP_SOCKET_OVERFLOW)).isGreaterThanOrEqualTo(sent);
        });
    }

    /**
     * Zero allocation per packet once compiled. The FFM call-state object of each recvmmsg and
     * sendmmsg is removed by C2's escape analysis only, so the warm-up must reach C2: small
     * batches make it tens of thousands of socket calls, as JMH's warm-up would.
     */
    @Test
    void shouldNotAllocateOnTheForwardingThreadPerPacket() throws IOException {
        node.close();
        SnapshotJson.writeAtomically(wayOut(1), configFile);
        node = ForwarderNode.start(new NodeSettings().name("t1").listen(NODE + ":" + VXLAN).configFile(configFile)
                .flowCapacity(1 << 16).batchSize(4).threads(2));
        // The NAT gateway flow from a source port that puts it on the other thread than the ENI flow.
        ThreadSteering steering = new ThreadSteering(2);
        int natSource = 40001;
        while (steering.thread(natSource + 80) == steering.thread(40000 + 5432)) {
            natSource++;
        }
        handshake(40000);
        natHandshake(natSource);
        // Half from an EE through its ENI, half from a private host through the NAT gateway.
        ByteBuffer data = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 64);
        DatagramPacket packet = new DatagramPacket(data.array(), data.limit(), InetAddress.getByName(NODE), VXLAN);
        ByteBuffer natData = TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, natSource, INTERNET_HOST, 80, TcpHeader.ACK, 64);
        DatagramPacket natPacket = new DatagramPacket(natData.array(), natData.limit(), InetAddress.getByName(NODE), VXLAN);
        for (int i = 0; i < 200_000; i++) { // warm-up: let C2 compile the forwarding path
            send(i % 2 == 0 ? host : vpc, i % 2 == 0 ? packet : natPacket, i);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> counters().get(Counter.FORWARDED_TO_VPC) > 150_000);
        CountersFile.Snapshot before = counters();
        for (int i = 0; i < 200_000; i++) {
            send(i % 2 == 0 ? host : vpc, i % 2 == 0 ? packet : natPacket, i);
        }
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ofMillis(300))
                .until(() -> counters().get(Counter.FORWARDED_TO_VPC) - before.get(Counter.FORWARDED_TO_VPC) > 150_000);
        assertThat(counters().natGateways().get(NAT_ID).get("PacketsOutToDestination")).as("the NAT gateway path was measured").isGreaterThan(50_000);
        Thread.onSpinWait();
        CountersFile.Snapshot after = counters();
        for (int t = 0; t < 2; t++) {
            long forwarded = after.thread(t, Counter.FORWARDED_TO_VPC) - before.thread(t, Counter.FORWARDED_TO_VPC);
            long allocated = after.thread(t, Counter.ALLOCATED_BYTES_FORWARDING_THREAD)
                    - before.thread(t, Counter.ALLOCATED_BYTES_FORWARDING_THREAD);
            System.out.printf("forwarding thread %d: %d bytes allocated over %d forwarded packets (%.4f B/packet)%n",
                    t, allocated, forwarded, (double) allocated / forwarded);
            assertThat(forwarded).as("thread %d forwarded its flow", t).isGreaterThan(50_000);
            assertThat((double) allocated / forwarded).as("thread %d", t).isLessThan(0.05);
        }
    }

    /**
     * Paced (a pause every 500 datagrams): a sender blasting faster than a not-yet-compiled
     * forwarding path drains overflows the socket, and what this test measures is allocation per
     * forwarded packet, not how much a cold JIT drops.
     */
    private static void send(DatagramSocket from, DatagramPacket packet, int i) throws IOException {
        from.send(packet);
        if (i % 500 == 499) {
            LockSupport.parkNanos(500_000);
        }
    }

    @Test
    void shouldAnswerALivenessProbeOnTheForwardingPortWithoutForwardingIt() throws IOException {
        ByteBuffer probe = ByteBuffer.allocate(LivenessProbe.LENGTH);
        LivenessProbe.writeProbe(probe, 0, 7, 42, 123_456_789L);
        send(host, probe);

        DatagramPacket p = new DatagramPacket(new byte[64], 64);
        host.receive(p);
        ByteBuffer answer = ByteBuffer.wrap(p.getData(), 0, p.getLength());
        assertThat(LivenessProbe.isAnswer(answer, 0, p.getLength())).as("the probe, turned into its answer").isTrue();
        assertThat(LivenessProbe.sequence(answer, 0)).isEqualTo(42);
        assertThat(LivenessProbe.incarnation(answer, 0)).as("this node process's incarnation, as its heartbeats give it (low 16 bits)")
                .isEqualTo(Integer.parseUnsignedInt(node.incarnation(), 16) & 0xffff);
        assertThat(node.probesAnswered()).isEqualTo(1);
    }
}
