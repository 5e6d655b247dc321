package io.hyperplane.node;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
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

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A node that gets its config from a control plane ({@link FakeControlPlane} on 127.0.0.1) and
 * forwards over real UDP sockets on loopback, as in {@link ForwarderNodeTest}: 127.0.0.1 is the
 * node, 127.0.0.2 the worker host's VTEP, 127.0.0.3 the VPC's.
 */
@Timeout(120)
class ControlPlaneNodeTest {
    private static final String NODE = "127.0.0.1";
    private static final String HOST_VTEP = "127.0.0.2";
    private static final String VPC_VTEP = "127.0.0.3";
    private static final String UNDERLAY = "198.18.0.1";
    private static final int VXLAN = 4789;
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private Path stateDir;
    private Path tokenFile;
    private FakeControlPlane control;
    private ForwarderNode node;
    private DatagramSocket host;
    private DatagramSocket vpc;

    @BeforeEach
    void start() throws IOException {
        stateDir = dir.resolve("state");
        tokenFile = dir.resolve("token");
        Files.writeString(tokenFile, "secret\n");
        control = FakeControlPlane.start();
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
        control.close();
        host.close();
        vpc.close();
    }

    private NodeSettings settings() {
        return new NodeSettings().name("t1").listen(NODE + ":" + VXLAN).controlUrl(control.url()).tokenFile(tokenFile)
                .stateDir(stateDir).underlayIp(UNDERLAY).flowCapacity(1 << 16).controlWait(Duration.ofSeconds(2));
    }

    private static NodeSnapshot snapshot(long version) {
        return TestConfigs.snapshot(version, TestConfigs.defaultAcl(), TestConfigs.defaultRoutes(), HOST_VTEP, VPC_VTEP);
    }

    @Test
    void shouldApplyEachNewVersionAndHeartbeatWhatTheForwardingThreadRuns() throws IOException {
        control.serve(snapshot(1));
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> node.configVersion() == 1);
        handshake(40000);
        await().atMost(PATIENCE).untilAsserted(() -> {
            JsonNode beat = control.lastHeartbeat();
            assertThat(beat).isNotNull();
            assertThat(beat.path("appliedVersion").asLong()).isEqualTo(1);
            assertThat(beat.path("underlayIp").asText()).isEqualTo(UNDERLAY);
            assertThat(beat.path("port").asInt()).isEqualTo(VXLAN);
            assertThat(beat.path("enis")).hasSize(1);
            assertThat(beat.path("enis").get(0).path("ip").asText()).isEqualTo("10.0.1.4");
            assertThat(beat.path("enis").get(0).path("natPorts").asLong()).isEqualTo(1);
            assertThat(beat.path("enis").get(0).path("flows").asLong()).isEqualTo(1);
            assertThat(beat.path("flows").asLong()).as("the whole node's").isEqualTo(1);
            assertThat(beat.path("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        });
        assertThat(control.requests().stream().filter(r -> r.method().equals("GET")).findFirst().orElseThrow().after())
                .as("a node with nothing asks after -1").isEqualTo(-1);

        control.serve(snapshot(2));
        await().atMost(PATIENCE).until(() -> node.configVersion() == 2);
        await().atMost(PATIENCE).until(() -> control.lastHeartbeat().path("appliedVersion").asLong() == 2);
        assertThat(counters().get(Counter.CONFIG_VERSION)).isEqualTo(2);
        await("cached").atMost(PATIENCE).ignoreExceptions().until(() -> SnapshotJson.read(stateDir.resolve("snapshot.json")).version() == 2);
        assertThat(control.heartbeats()).allSatisfy(beat -> assertThat(beat.node()).isEqualTo("t1"));
    }

    @Test
    void shouldHeartbeatItsNatGatewaysMetrics() throws IOException {
        control.serve(TestConfigs.wayOut(1, privateRoutesToNat(), publicRoutesToIgw(), defaultAcl(), HOST_VTEP, VPC_VTEP));
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> node.configVersion() == 1);
        send(vpc, TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, RES2, 40000, INTERNET_HOST, 80, TcpHeader.SYN, 0));
        FrameDecoder first = receive(vpc);
        if (first.etherType() == 0x0806) {
            send(vpc, TestFrames.arp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, ArpPacket.REPLY, PUBLIC_ROUTER_MAC, PUBLIC_ROUTER, NAT_MAC, NAT_IP));
            first = receive(vpc);
        }
        assertThat(first.ip.source()).isEqualTo(NAT_IP);
        await().atMost(PATIENCE).untilAsserted(() -> {
            JsonNode natGateways = control.lastHeartbeat().path("natGateways");
            assertThat(natGateways).hasSize(1);
            assertThat(natGateways.get(0).path("id").asText()).isEqualTo(NAT_ID);
            assertThat(natGateways.get(0).path("metrics").path("ConnectionAttemptCount").asLong()).isEqualTo(1);
            assertThat(natGateways.get(0).path("metrics").path("ActiveConnectionCount").asLong()).isEqualTo(1);
            assertThat(natGateways.get(0).path("metrics").path("PacketsOutToDestination").asLong()).isEqualTo(1);
        });
    }

    @Test
    void shouldStartWithoutAControlPlaneDropEverythingAndCatchUpWhenItComes() throws IOException {
        control.stop();
        node = ForwarderNode.start(settings());
        assertThat(node.configVersion()).isEqualTo(-1);
        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.SYN, 0));
        await().atMost(PATIENCE).until(() -> counters().get(Counter.DROP_UNKNOWN_VNI) == 1);

        control.serve(snapshot(1));
        control.restart();
        await().atMost(PATIENCE).until(() -> node.configVersion() == 1);
        handshake(40001);
    }

    @Test
    void shouldKeepForwardingThroughAnOutageAndCatchUpAfterIt() throws IOException, InterruptedException {
        control.serve(snapshot(1));
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> node.configVersion() == 1);
        int natPort = handshake(40000);

        control.stop();
        Thread.sleep(1500); // long enough for heartbeats and polls to fail and back off
        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 100));
        FrameDecoder data = receive(vpc);
        assertThat(data.tcp.sourcePort()).isEqualTo(natPort);
        assertThat(node.configVersion()).isEqualTo(1);

        control.serve(snapshot(3));
        control.restart();
        await().atMost(PATIENCE).until(() -> node.configVersion() == 3);
        await().atMost(PATIENCE).until(() -> control.lastHeartbeat() != null && control.lastHeartbeat().path("appliedVersion").asLong() == 3);
        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 100));
        assertThat(receive(vpc).tcp.sourcePort()).as("the flow survived the reload").isEqualTo(natPort);
    }

    @Test
    void shouldStartOnTheCachedSnapshotWhenRestartedWhileTheControlPlaneIsDown() throws IOException {
        control.serve(snapshot(3));
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> node.configVersion() == 3);
        control.stop();
        node.close();

        node = ForwarderNode.start(settings());
        assertThat(node.configVersion()).as("applied from the cache before start returns").isEqualTo(3);
        handshake(40000);

        int before = control.requests().size();
        control.restart();
        await().atMost(PATIENCE).until(() -> control.requests().size() > before
                && control.requests().subList(before, control.requests().size()).stream().anyMatch(r -> r.method().equals("GET")));
        assertThat(control.requests().subList(before, control.requests().size()).stream().filter(r -> r.method().equals("GET"))
                .findFirst().orElseThrow().after()).as("the first poll asks after the cached version").isEqualTo(3);
    }

    @Test
    void shouldRetryARefusedTokenAndRecoverWhenItIsAccepted() throws IOException {
        control.serve(snapshot(1));
        control.requireToken("another");
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> control.refused().stream().filter(r -> r.method().equals("GET")).count() >= 2);
        assertThat(node.configVersion()).isEqualTo(-1);
        assertThat(control.requests()).isEmpty();

        Files.writeString(tokenFile, "another\n"); // the operator fixes the token file; the node re-reads it
        await().atMost(PATIENCE).until(() -> node.configVersion() == 1);
        await().atMost(PATIENCE).until(() -> control.lastHeartbeat() != null);
    }

    @Test
    void shouldRejectAnInvalidSnapshotAndStayOnTheLastVersion() throws IOException {
        control.serve(snapshot(1));
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> node.configVersion() == 1);

        control.serveRaw(2, "{\"version\": 2, \"eeGateway\": {\"ip\": \"300.1.1.1\", \"mac\": \"02:00:00:00:00:01\"}}");
        await().atMost(PATIENCE).until(() -> counters().get(Counter.CONFIG_REJECTED) == 1);
        assertThat(node.configVersion()).isEqualTo(1);
        handshake(40000);
        await().atMost(PATIENCE).ignoreExceptions().until(() -> SnapshotJson.read(stateDir.resolve("snapshot.json")).version() == 1);

        control.serveRaw(3, SnapshotJson.write(snapshot(4)));
        await().atMost(PATIENCE).until(() -> counters().get(Counter.CONFIG_REJECTED) == 2);
        assertThat(node.configVersion()).as("header and body disagree").isEqualTo(1);

        control.serve(snapshot(5));
        await().atMost(PATIENCE).until(() -> node.configVersion() == 5);
    }

    @Test
    void shouldLeaveTheControlPlaneOnClose() throws IOException {
        control.serve(snapshot(1));
        node = ForwarderNode.start(settings());
        await().atMost(PATIENCE).until(() -> control.lastHeartbeat() != null);
        node.close();
        node = null;
        List<FakeControlPlane.Request> requests = control.requests();
        assertThat(requests.getLast().method()).as("the last request, after every heartbeat").isEqualTo("DELETE");
        assertThat(requests.getLast().node()).isEqualTo("t1");
    }

    @Test
    void shouldRegisterTheListenAddressWhenNoUnderlayAddressIsGiven() throws IOException {
        node = ForwarderNode.start(settings().underlayIp(null));
        await().atMost(PATIENCE).until(() -> control.lastHeartbeat() != null);
        assertThat(control.lastHeartbeat().path("underlayIp").asText()).isEqualTo(NODE);
        assertThat(control.lastHeartbeat().path("appliedVersion").asLong()).isEqualTo(-1);
        assertThat(control.lastHeartbeat().path("enis")).isEmpty();
    }

    @Test
    void shouldRefuseSettingsThatLeaveTheSourceOrTheUnderlayAddressUnclear() {
        assertThatThrownBy(() -> new NodeSettings().listen(NODE).validate())
                .hasMessageContaining("give --config FILE or --control URL");
        assertThatThrownBy(() -> settings().configFile(dir.resolve("node.json")).validate())
                .hasMessageContaining("give only one of them");
        assertThatThrownBy(() -> settings().underlayIp(null).listen("0.0.0.0:4789").validate())
                .hasMessageContaining("--underlay-ip");
        assertThatThrownBy(() -> settings().tokenFile(null).validate()).hasMessageContaining("--token-file");
        assertThatThrownBy(() -> new NodeSettings().controlUrl("ftp://x")).hasMessageContaining("control URL 'ftp://x'");
        assertThatThrownBy(() -> ForwarderNode.start(settings().tokenFile(dir.resolve("missing"))))
                .hasMessageContaining("token file").hasMessageContaining("no such file");
    }

    // ---- traffic, as ForwarderNodeTest sends it

    private CountersFile.Snapshot counters() throws IOException {
        return CountersFile.read(node.settings().countersFile());
    }

    private static void send(DatagramSocket from, ByteBuffer frame) throws IOException {
        from.send(new DatagramPacket(frame.array(), frame.limit(), InetAddress.getByName(NODE), VXLAN));
    }

    private static FrameDecoder receive(DatagramSocket at) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        at.receive(p);
        FrameDecoder d = new FrameDecoder();
        assertThat(d.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength()), 0, p.getLength())).isEqualTo(Malformation.NONE);
        return d;
    }

    /** SYN from EE 1 through the node, ARP answered by the "VPC", SYN-ACK back to the EE. Returns the NAT port. */
    private int handshake(int eePort) throws IOException {
        send(host, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, eePort, RES1, 5432, TcpHeader.SYN, 0));
        FrameDecoder first = receive(vpc);
        if (first.etherType() == 0x0806) {
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
}
