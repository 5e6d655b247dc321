package io.hyperplane.node;

import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.IcmpHeader;
import io.hyperplane.packet.Ipv4Header;
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
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A node of two forwarding threads over real sockets in a network namespace of its own: the
 * kernel runs the steering program on every datagram. Many TCP, UDP and ping flows through an ENI
 * and through a NAT gateway, every one answered by a fake VPC: a reply steered to the thread that
 * does not own its flow would be {@code drop-no-flow} there, so every reply arriving proves both
 * directions met on one thread. The namespace (its loopback only) keeps the node's port group
 * apart from any other node on the machine; it is deleted by its exact name however the test ends.
 */
@Timeout(90)
class ThreadedForwarderNodeTest {
    private static final String NAMESPACE = "hp-nodetest-threads";
    private static final String NODE = "127.0.17.1";
    private static final String HOST_VTEP = "127.0.17.2";
    private static final String VPC_VTEP = "127.0.17.3";
    private static final int VXLAN = 4789;
    private static final int THREADS = 2;
    private static final int TCP_FLOWS = 150;
    private static final int UDP_FLOWS = 100;
    private static final int PINGS = 40;
    private static final int FIRST_PORT = 30_000;
    private static final int ENI_REMOTE_PORT = 5432;
    private static final int NAT_REMOTE_PORT = 80;

    @TempDir
    Path dir;
    private TestNamespace namespace;
    private ForwarderNode node;
    private DatagramSocket host;
    private DatagramSocket vpc;

    @BeforeEach
    void start() throws IOException, InterruptedException {
        assumeTrue("root".equals(System.getProperty("user.name")), "making a network namespace needs root");
        namespace = TestNamespace.create(NAMESPACE); // 127.0.17.0/24 is the loopback's already
        Path config = dir.resolve("node.json");
        SnapshotJson.writeAtomically(TestConfigs.wayOut(1, privateRoutesToNat(), publicRoutesToIgw(), defaultAcl(), HOST_VTEP, VPC_VTEP),
                config);
        node = ForwarderNode.start(new NodeSettings().name("threads").listen(NODE + ":" + VXLAN).configFile(config)
                .countersFile(dir.resolve("node.counters")).flowCapacity(1 << 16).threads(THREADS).netns(NAMESPACE));
        host = namespace.socket(HOST_VTEP, VXLAN);
        vpc = namespace.socket(VPC_VTEP, VXLAN);
        host.setSoTimeout(5000);
        vpc.setSoTimeout(5000);
        host.setReceiveBufferSize(4 << 20);
        vpc.setReceiveBufferSize(4 << 20);
    }

    @AfterEach
    void stop() throws IOException, InterruptedException {
        try {
            if (node != null) {
                node.close();
            }
            if (host != null) {
                host.close();
            }
            if (vpc != null) {
                vpc.close();
            }
        } finally {
            if (namespace != null) {
                namespace.close();
            }
        }
    }

    @Test
    void shouldHandleBothDirectionsOfEveryFlowOnTheThreadThatOwnsIt() throws IOException {
        int perPath = TCP_FLOWS + UDP_FLOWS + PINGS;
        for (int i = 0; i < TCP_FLOWS; i++) {
            send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, FIRST_PORT + i, RES1, ENI_REMOTE_PORT, TcpHeader.SYN, 0));
            send(vpc, TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, FIRST_PORT + i, INTERNET_HOST, NAT_REMOTE_PORT,
                    TcpHeader.SYN, 0));
        }
        for (int i = 0; i < UDP_FLOWS; i++) {
            send(host, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, FIRST_PORT + i, RES1, 53, 8));
            send(vpc, TestFrames.udp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, FIRST_PORT + i, INTERNET_HOST, 53, 8));
        }
        for (int i = 0; i < PINGS; i++) {
            send(host, TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, FIRST_PORT + i, 1));
            send(vpc, TestFrames.icmpEcho(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, INTERNET_HOST, IcmpHeader.ECHO_REQUEST,
                    FIRST_PORT + i, 1));
        }
        // The first packet toward each next hop waits for ARP (one per thread and next hop); the
        // others are dropped until it resolves, so the senders retry what got no answer.
        Set<Long> answeredEni = new HashSet<>();
        Set<Long> answeredNat = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while ((answeredEni.size() < perPath || answeredNat.size() < perPath) && System.nanoTime() < deadline) {
            answerTheVpc(answeredNat);
            drainTheHost(answeredEni);
            resendUnanswered(answeredEni, answeredNat);
        }
        assertThat(answeredEni).as("ENI flows answered back to the EE").hasSize(perPath);
        assertThat(answeredNat).as("NAT gateway flows answered back to the source").hasSize(perPath);

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            CountersFile.Snapshot c = CountersFile.read(dir.resolve("node.counters"));
            assertThat(c.threads()).hasSize(THREADS);
            assertThat(c.get(Counter.DROP_NO_FLOW)).as("a reply on a thread without its flow").isZero();
            for (int t = 0; t < THREADS; t++) {
                assertThat(c.thread(t, Counter.FLOWS_CREATED)).as("thread %d carries flows", t).isGreaterThan(perPath / 2);
                assertThat(c.thread(t, Counter.FORWARDED_TO_EE)).as("thread %d answers its ENI flows", t).isPositive();
            }
            assertThat(c.get(Counter.FLOWS_CREATED)).isEqualTo(2L * perPath);
            assertThat(c.thread(1, Counter.HANDED_IN)).as("thread 1 got thread 0's ARP answers").isPositive();
            assertThat(c.thread(1, Counter.ARP_ENTRIES_LEARNED)).as("thread 1 resolved its own next hops").isPositive();
            assertThat(c.thread(0, Counter.HANDED_OFF)).isEqualTo(c.thread(1, Counter.HANDED_IN));
        });
    }

    /**
     * Answers every ARP request and every forwarded packet the VPC receives, and notes the
     * NAT gateway replies that came back to their source (keyed by protocol and source port).
     */
    private void answerTheVpc(Set<Long> answeredNat) throws IOException {
        for (FrameDecoder d = receive(vpc); d != null; d = receive(vpc)) {
            if (d.etherType() == EthernetHeader.TYPE_ARP) {
                int asked = d.arp.targetIp();
                long mac = asked == RES1 ? RES1_MAC : PUBLIC_ROUTER_MAC;
                send(vpc, TestFrames.arp(d.vxlan.vni(), mac, d.arp.senderMac(), ArpPacket.REPLY, mac, asked, d.arp.senderMac(),
                        d.arp.senderIp()));
                continue;
            }
            int proto = d.protocol();
            if (d.ip.destination() == RES2) {
                answeredNat.add(key(proto, proto == Ipv4Header.PROTOCOL_TCP ? d.tcp.destinationPort()
                        : proto == Ipv4Header.PROTOCOL_UDP ? d.udp.destinationPort() : d.icmp.identifier()));
                continue;
            }
            boolean eni = d.ip.source() == ENI_IP;
            int vni = eni ? SUBNET1_VNI : PUBLIC_VNI;
            long from = eni ? RES1_MAC : PUBLIC_ROUTER_MAC;
            long to = eni ? ENI_MAC : NAT_MAC;
            int remote = d.ip.destination();
            int ours = d.ip.source();
            switch (proto) {
                case Ipv4Header.PROTOCOL_TCP -> {
                    int natPort = d.tcp.sourcePort();
                    send(vpc, TestFrames.tcp(vni, from, to, remote, d.tcp.destinationPort(), ours, natPort,
                            TcpHeader.SYN | TcpHeader.ACK, 0));
                }
                case Ipv4Header.PROTOCOL_UDP -> {
                    int natPort = d.udp.sourcePort();
                    send(vpc, TestFrames.udp(vni, from, to, remote, d.udp.destinationPort(), ours, natPort, 4));
                }
                default -> {
                    send(vpc, TestFrames.icmpEcho(vni, from, to, remote, ours, IcmpHeader.ECHO_REPLY, d.icmp.identifier(), 1));
                }
            }
        }
    }

    private void drainTheHost(Set<Long> answeredEni) throws IOException {
        for (FrameDecoder d = receive(host); d != null; d = receive(host)) {
            assertThat(d.ip.destination()).isEqualTo(EE1_IP);
            int proto = d.protocol();
            answeredEni.add(key(proto, proto == Ipv4Header.PROTOCOL_TCP ? d.tcp.destinationPort()
                    : proto == Ipv4Header.PROTOCOL_UDP ? d.udp.destinationPort() : d.icmp.identifier()));
        }
    }

    private void resendUnanswered(Set<Long> answeredEni, Set<Long> answeredNat) throws IOException {
        for (int i = 0; i < TCP_FLOWS; i++) {
            if (!answeredEni.contains(key(Ipv4Header.PROTOCOL_TCP, FIRST_PORT + i))) {
                send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, FIRST_PORT + i, RES1, ENI_REMOTE_PORT, TcpHeader.SYN, 0));
            }
            if (!answeredNat.contains(key(Ipv4Header.PROTOCOL_TCP, FIRST_PORT + i))) {
                send(vpc, TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, FIRST_PORT + i, INTERNET_HOST, NAT_REMOTE_PORT,
                        TcpHeader.SYN, 0));
            }
        }
        for (int i = 0; i < UDP_FLOWS; i++) {
            if (!answeredEni.contains(key(Ipv4Header.PROTOCOL_UDP, FIRST_PORT + i))) {
                send(host, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, FIRST_PORT + i, RES1, 53, 8));
            }
            if (!answeredNat.contains(key(Ipv4Header.PROTOCOL_UDP, FIRST_PORT + i))) {
                send(vpc, TestFrames.udp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, FIRST_PORT + i, INTERNET_HOST, 53, 8));
            }
        }
        for (int i = 0; i < PINGS; i++) {
            if (!answeredEni.contains(key(Ipv4Header.PROTOCOL_ICMP, FIRST_PORT + i))) {
                send(host, TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, FIRST_PORT + i, 1));
            }
            if (!answeredNat.contains(key(Ipv4Header.PROTOCOL_ICMP, FIRST_PORT + i))) {
                send(vpc, TestFrames.icmpEcho(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, INTERNET_HOST, IcmpHeader.ECHO_REQUEST,
                        FIRST_PORT + i, 1));
            }
        }
    }

    private static long key(int proto, int port) {
        return (long) proto << 16 | port;
    }

    private static void send(DatagramSocket from, ByteBuffer frame) throws IOException {
        from.send(new DatagramPacket(frame.array(), frame.limit(), InetAddress.getByName(NODE), VXLAN));
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
