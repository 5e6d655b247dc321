package io.hyperplane.dataplane;

import io.hyperplane.config.NodeSnapshot.NetworkAclEntry;
import io.hyperplane.config.NodeSnapshot.Route;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.NatGatewayMetric;
import io.hyperplane.dataplane.flow.FlowTimeouts;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.Checksums;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.IcmpHeader;
import io.hyperplane.packet.Ipv4Header;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.Malformation;
import io.hyperplane.packet.TcpHeader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The NAT gateway as a Hyperplane service (DESIGN.md §11), gateway route targets for Lambda ENIs
 * and the service egress: crafted frames in, decisions out, no sockets.
 */
class NatGatewayForwarderTest {
    private static final int PRIVATE_HOST = RES2; // 10.0.2.10, behind the VPC router
    private static final int OTHER_PRIVATE_HOST = ip("10.0.2.11");
    private final RecordingSink out = new RecordingSink();
    private Forwarder forwarder;

    @BeforeEach
    void setUp() {
        start(Forwarder.Settings.DEFAULTS.withFlowCapacity(1 << 16), 1000);
    }

    private void start(Forwarder.Settings settings, int clock) {
        forwarder = new Forwarder(settings);
        forwarder.startClock(clock);
        forwarder.config(CompiledConfig.compile(TestConfigs.wayOut(1)));
    }

    private void process(ByteBuffer frame, int outerSource) {
        forwarder.process(frame, 0, frame.limit(), outerSource, out);
    }

    private long count(Counter c) {
        return forwarder.counters().get(c);
    }

    private long nat(NatGatewayMetric metric) {
        return forwarder.natGatewayCounters().get(NAT_ID, metric);
    }

    private static FrameDecoder decode(RecordingSink.Sent sent) {
        FrameDecoder d = new FrameDecoder();
        assertThat(d.decode(sent.bytes(), 0, sent.bytes().limit())).isEqualTo(Malformation.NONE);
        return d;
    }

    /** The public subnet's router answers the NAT gateway's ARP, as it does in the lab. */
    private void learnPublicRouter() {
        process(TestFrames.arp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, ArpPacket.REPLY, PUBLIC_ROUTER_MAC, PUBLIC_ROUTER, NAT_MAC, NAT_IP), VTEP);
    }

    /** A SYN from a private host, which the VPC router hands to the NAT gateway on the public subnet. */
    private ByteBuffer synFromPrivate(int source, int sport, int destination, int dport) {
        return TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, source, sport, destination, dport, TcpHeader.SYN, 0);
    }

    private FrameDecoder outThroughNat(ByteBuffer frame) {
        process(frame, VTEP);
        RecordingSink.Sent sent = out.only();
        assertThat(sent.destinationIp()).isEqualTo(VTEP);
        return decode(sent);
    }

    @Test
    void shouldAnswerArpForTheNatGatewayOnItsSubnet() {
        process(TestFrames.arp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, MacAddress.BROADCAST, ArpPacket.REQUEST, PUBLIC_ROUTER_MAC, PUBLIC_ROUTER, 0, NAT_IP), VTEP);

        FrameDecoder d = decode(out.only());
        assertThat(d.vxlan.vni()).isEqualTo(PUBLIC_VNI);
        assertThat(d.arp.operation()).isEqualTo(ArpPacket.REPLY);
        assertThat(d.arp.senderMac()).isEqualTo(NAT_MAC);
        assertThat(d.arp.senderIp()).isEqualTo(NAT_IP);
        assertThat(forwarder.neighbors().lookup(PUBLIC_VNI, PUBLIC_ROUTER, 1000)).isEqualTo(PUBLIC_ROUTER_MAC);
    }

    @Test
    void shouldTranslateAPrivateHostsConnectionThroughTheNatGatewayAndBack() {
        learnPublicRouter();
        FrameDecoder syn = outThroughNat(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80));
        assertThat(syn.vxlan.vni()).isEqualTo(PUBLIC_VNI);
        assertThat(syn.ethernet.source()).isEqualTo(NAT_MAC);
        assertThat(syn.ethernet.destination()).as("to the internet through the subnet's router").isEqualTo(PUBLIC_ROUTER_MAC);
        assertThat(syn.ip.source()).isEqualTo(NAT_IP);
        assertThat(syn.ip.destination()).isEqualTo(INTERNET_HOST);
        assertThat(syn.ip.ttl()).isEqualTo(63);
        assertThat(syn.tcp.sourcePort()).as("the source's port, free").isEqualTo(40000);
        assertThat(syn.ip.hasValidChecksum()).isTrue();
        assertThat(Checksums.transportValid(syn.ip, syn.l4Offset(), syn.l4Length())).isTrue();

        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 5), VTEP);
        FrameDecoder back = decode(out.only());
        assertThat(back.vxlan.vni()).isEqualTo(PUBLIC_VNI);
        assertThat(back.ethernet.source()).isEqualTo(NAT_MAC);
        assertThat(back.ethernet.destination()).as("back through the router: the source is in another subnet").isEqualTo(PUBLIC_ROUTER_MAC);
        assertThat(back.ip.source()).isEqualTo(INTERNET_HOST);
        assertThat(back.ip.destination()).isEqualTo(PRIVATE_HOST);
        assertThat(back.tcp.destinationPort()).isEqualTo(40000);
        assertThat(back.ip.hasValidChecksum()).isTrue();
        assertThat(Checksums.transportValid(back.ip, back.l4Offset(), back.l4Length())).isTrue();

        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, 40000, INTERNET_HOST, 80, TcpHeader.ACK, 10), VTEP);
        assertThat(decode(out.only()).tcp.sourcePort()).isEqualTo(40000);

        assertThat(nat(NatGatewayMetric.ACTIVE_CONNECTION_COUNT)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.CONNECTION_ATTEMPT_COUNT)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.CONNECTION_ESTABLISHED_COUNT)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.PACKETS_IN_FROM_SOURCE)).isEqualTo(2);
        assertThat(nat(NatGatewayMetric.PACKETS_OUT_TO_DESTINATION)).isEqualTo(2);
        assertThat(nat(NatGatewayMetric.PACKETS_IN_FROM_DESTINATION)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.PACKETS_OUT_TO_SOURCE)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.BYTES_IN_FROM_SOURCE)).isEqualTo(40 + 50);
        assertThat(nat(NatGatewayMetric.BYTES_OUT_TO_DESTINATION)).isEqualTo(40 + 50);
        assertThat(nat(NatGatewayMetric.BYTES_IN_FROM_DESTINATION)).isEqualTo(45);
        assertThat(nat(NatGatewayMetric.BYTES_OUT_TO_SOURCE)).isEqualTo(45);
        assertThat(nat(NatGatewayMetric.PACKETS_DROP_COUNT)).isZero();
    }

    @Test
    void shouldSendRepliesStraightToASourceInTheNatGatewaysOwnSubnet() {
        learnPublicRouter();
        process(TestFrames.arp(PUBLIC_VNI, PUBLIC_HOST_MAC, NAT_MAC, ArpPacket.REPLY, PUBLIC_HOST_MAC, PUBLIC_HOST, NAT_MAC, NAT_IP), VTEP);
        outThroughNat(TestFrames.tcp(PUBLIC_VNI, PUBLIC_HOST_MAC, NAT_MAC, PUBLIC_HOST, 40000, INTERNET_HOST, 80, TcpHeader.SYN, 0));

        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        FrameDecoder back = decode(out.only());
        assertThat(back.ethernet.destination()).isEqualTo(PUBLIC_HOST_MAC);
        assertThat(back.ip.destination()).isEqualTo(PUBLIC_HOST);
    }

    @Test
    void shouldGiveTwoSourcesWithTheSameSourcePortDistinctPorts() {
        learnPublicRouter();
        int first = outThroughNat(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80)).tcp.sourcePort();
        int second = outThroughNat(synFromPrivate(OTHER_PRIVATE_HOST, 40000, INTERNET_HOST, 80)).tcp.sourcePort();
        assertThat(first).isEqualTo(40000);
        assertThat(second).isNotEqualTo(first);

        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, second, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        FrameDecoder back = decode(out.only());
        assertThat(back.ip.destination()).isEqualTo(OTHER_PRIVATE_HOST);
        assertThat(back.tcp.destinationPort()).isEqualTo(40000);
    }

    @Test
    void shouldTranslateUdpIcmpEchoAndIcmpErrorsThroughTheNatGateway() {
        learnPublicRouter();
        FrameDecoder udp = outThroughNat(TestFrames.udp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, 5353, INTERNET_HOST, 53, 8));
        assertThat(udp.ip.source()).isEqualTo(NAT_IP);
        ByteBuffer translated = ByteBuffer.allocate(udp.buffer().limit()).put(0, udp.buffer(), 0, udp.buffer().limit());
        process(TestFrames.udp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 53, NAT_IP, udp.udp.sourcePort(), 8), VTEP);
        FrameDecoder reply = decode(out.only());
        assertThat(reply.ip.destination()).isEqualTo(PRIVATE_HOST);
        assertThat(reply.udp.destinationPort()).isEqualTo(5353);
        assertThat(Checksums.transportValid(reply.ip, reply.l4Offset(), reply.l4Length())).isTrue();

        process(TestFrames.icmpError(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, IcmpHeader.DESTINATION_UNREACHABLE, 3, translated, 8), VTEP);
        FrameDecoder error = decode(out.only());
        assertThat(error.ip.destination()).isEqualTo(PRIVATE_HOST);
        assertThat(Checksums.finish(Checksums.sum(error.buffer(), error.l4Offset(), error.l4Length(), 0))).as("ICMP checksum").isZero();
        assertThat(error.decodeIcmpError()).isEqualTo(Malformation.NONE);
        assertThat(error.embeddedIp.source()).isEqualTo(PRIVATE_HOST);
        assertThat(error.embeddedIp.hasValidChecksum()).isTrue();
        assertThat(error.buffer().getShort(error.embeddedL4Offset()) & 0xffff).isEqualTo(5353);

        FrameDecoder ping = outThroughNat(TestFrames.icmpEcho(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, INTERNET_HOST, IcmpHeader.ECHO_REQUEST, 77, 1));
        process(TestFrames.icmpEcho(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, NAT_IP, IcmpHeader.ECHO_REPLY, ping.icmp.identifier(), 1), VTEP);
        FrameDecoder pong = decode(out.only());
        assertThat(pong.ip.destination()).isEqualTo(PRIVATE_HOST);
        assertThat(pong.icmp.identifier()).isEqualTo(77);
        assertThat(Checksums.finish(Checksums.sum(pong.buffer(), pong.l4Offset(), pong.l4Length(), 0))).isZero();
    }

    @Test
    void shouldReachTheLimitPerDestinationExactlyAndCountErrorPortAllocation() {
        start(Forwarder.Settings.DEFAULTS.withFlowCapacity(70_000), 1000);
        learnPublicRouter();
        int limit = Forwarder.Settings.DEFAULT_NAT_CONNECTIONS_PER_DESTINATION;
        for (int i = 0; i < limit; i++) {
            // 55,000 sources' connections from 40,000 ports of two hosts to one destination.
            int source = i < 30_000 ? PRIVATE_HOST : OTHER_PRIVATE_HOST;
            process(synFromPrivate(source, 10_000 + i % 30_000, INTERNET_HOST, 80), VTEP);
        }
        assertThat(out.sent).hasSize(limit);
        assertThat(forwarder.natConnections(PUBLIC_VNI, NAT_IP, Ipv4Header.PROTOCOL_TCP, INTERNET_HOST, 80)).isEqualTo(limit);
        out.sent.clear();

        process(synFromPrivate(ip("10.0.2.12"), 50_000, INTERNET_HOST, 80), VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(nat(NatGatewayMetric.ERROR_PORT_ALLOCATION)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.PACKETS_DROP_COUNT)).isEqualTo(1);
        assertThat(count(Counter.DROP_PORT_EXHAUSTION)).isEqualTo(1);

        // Another port, another address: other destinations.
        outThroughNat(synFromPrivate(ip("10.0.2.12"), 50_000, INTERNET_HOST, 443));
        outThroughNat(synFromPrivate(ip("10.0.2.12"), 50_000, ip("203.0.113.11"), 80));
        assertThat(nat(NatGatewayMetric.ACTIVE_CONNECTION_COUNT)).isEqualTo(limit + 2);

        // A connection that ends makes room for one more.
        int someSourcePort = 10_000;
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, someSourcePort, INTERNET_HOST, 80, TcpHeader.RST, 0), VTEP);
        out.sent.clear();
        outThroughNat(synFromPrivate(ip("10.0.2.12"), 50_000, INTERNET_HOST, 80));
        assertThat(nat(NatGatewayMetric.ERROR_PORT_ALLOCATION)).isEqualTo(1);
    }

    @Test
    void shouldBoundTheFlowsOneNatGatewayHoldsSoThatItCannotFillTheNodesTable() {
        // Four ENI quotas of 10: 40 flows, to 40 destinations (each far below its own limit).
        start(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024).withFlowQuotas(10, 4_096), 1000);
        learnPublicRouter();
        for (int i = 0; i < 40; i++) {
            process(synFromPrivate(PRIVATE_HOST, 20_000, INTERNET_HOST, 1000 + i), VTEP);
        }
        assertThat(out.sent).hasSize(40);
        out.sent.clear();

        process(synFromPrivate(PRIVATE_HOST, 20_000, INTERNET_HOST, 2000), VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_FLOW_QUOTA)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.PACKETS_DROP_COUNT)).isEqualTo(1);
        assertThat(nat(NatGatewayMetric.ERROR_PORT_ALLOCATION)).isZero();

        // A flow that is gone (a RST: closed for 10 s, then expired) makes room for one more, while
        // the other 39 (SYN sent, 30 s) are still held.
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, 20_000, INTERNET_HOST, 1000, TcpHeader.RST, 0), VTEP);
        out.sent.clear();
        forwarder.tick(1000 + 15, out);
        assertThat(count(Counter.FLOWS_ACTIVE)).isEqualTo(39);
        outThroughNat(synFromPrivate(PRIVATE_HOST, 20_000, INTERNET_HOST, 2000));
    }

    @Test
    void shouldCountIdleTimeoutsWithAScaledTimeoutButNotClosedConnections() {
        int idle = 5;
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024)
                .withTimeouts(FlowTimeouts.DEFAULTS.withTcpEstablished(idle)));
        forwarder.startClock(0);
        forwarder.config(CompiledConfig.compile(TestConfigs.wayOut(1)));
        learnPublicRouter();
        int quiet = outThroughNat(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80)).tcp.sourcePort();
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, quiet, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        out.sent.clear();
        int udp = outThroughNat(TestFrames.udp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, 5353, INTERNET_HOST, 53, 1)).udp.sourcePort();
        process(TestFrames.udp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 53, NAT_IP, udp, 1), VTEP);
        out.sent.clear();
        int closed = outThroughNat(synFromPrivate(PRIVATE_HOST, 40001, INTERNET_HOST, 80)).tcp.sourcePort();
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, closed, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, 40001, INTERNET_HOST, 80, TcpHeader.RST, 0), VTEP);
        out.sent.clear();
        assertThat(nat(NatGatewayMetric.ACTIVE_CONNECTION_COUNT)).isEqualTo(1);

        forwarder.tick(idle - 1, out);
        assertThat(nat(NatGatewayMetric.IDLE_TIMEOUT_COUNT)).isZero();
        forwarder.tick(FlowTimeouts.DEFAULTS.tcpClosed() + idle, out);
        assertThat(forwarder.flows().size()).as("the quiet TCP flow, the replied UDP flow (idle like TCP) and the reset one").isZero();
        assertThat(nat(NatGatewayMetric.IDLE_TIMEOUT_COUNT)).as("TCP and UDP timed out; the reset one did not").isEqualTo(2);
        assertThat(nat(NatGatewayMetric.ACTIVE_CONNECTION_COUNT)).isZero();
        assertThat(forwarder.natConnections(PUBLIC_VNI, NAT_IP, Ipv4Header.PROTOCOL_TCP, INTERNET_HOST, 80)).isZero();
    }

    @Test
    void shouldDropWhatThePublicSubnetHasNoRouteFor() {
        for (List<Route> routes : List.of(
                List.of(new Route("10.0.0.0/16", "local")),
                List.of(new Route("10.0.0.0/16", "local"), new Route("0.0.0.0/0", NAT_ID)),
                List.of(new Route("10.0.0.0/16", "local"), new Route("0.0.0.0/0", "blackhole")))) {
            forwarder.config(CompiledConfig.compile(TestConfigs.wayOut(2, privateRoutesToNat(), routes, defaultAcl())));
            process(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80), VTEP);
        }
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_ROUTE)).isEqualTo(3);
        assertThat(nat(NatGatewayMetric.PACKETS_DROP_COUNT)).isEqualTo(3);
        assertThat(forwarder.flows().size()).isZero();
    }

    @Test
    void shouldApplyThePublicSubnetsAclInAndOutOfTheSubnet() {
        learnPublicRouter();
        // Inbound from the private subnet only to 443; outbound anywhere (AWS's NAT gateway ACL example, reduced).
        List<NetworkAclEntry> acl = List.of(
                new NetworkAclEntry(100, false, "tcp", "allow", "10.0.0.0/16", 443, 443, -1, -1),
                new NetworkAclEntry(110, false, "tcp", "allow", "0.0.0.0/0", 1024, 65535, -1, -1),
                allowAll(100, true));
        forwarder.config(CompiledConfig.compile(TestConfigs.wayOut(2, privateRoutesToNat(), publicRoutesToIgw(), acl)));
        process(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80), VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NACL_DENY)).isEqualTo(1);

        int port = outThroughNat(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 443)).tcp.sourcePort();
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 443, NAT_IP, port, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        assertThat(decode(out.only()).ip.destination()).isEqualTo(PRIVATE_HOST);
    }

    @Test
    void shouldDropMalformedAndUnmatchedFramesToANatGatewayAndCountThem() {
        learnPublicRouter();
        ByteBuffer truncated = synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80);
        forwarder.process(truncated, 0, 40, VTEP, out);
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, PRIVATE_HOST, 40000, INTERNET_HOST, 80, TcpHeader.ACK, 0), VTEP);
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, 40000, TcpHeader.SYN, 0), VTEP);
        process(TestFrames.icmpEcho(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, NAT_IP, IcmpHeader.ECHO_REQUEST, 1, 1), VTEP);
        ByteBuffer garbageError = TestFrames.icmpError(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, IcmpHeader.DESTINATION_UNREACHABLE, 3,
                synFromPrivate(NAT_IP, 40000, INTERNET_HOST, 80), 8);
        garbageError.put(TestFrames.L3 + 20 + 8, (byte) 0x15); // the embedded header's version and length: not IPv4
        process(garbageError, VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_MALFORMED)).isEqualTo(2);
        assertThat(count(Counter.DROP_NO_FLOW)).as("mid-stream, unsolicited SYN, ping from outside").isEqualTo(3);
        assertThat(nat(NatGatewayMetric.PACKETS_DROP_COUNT)).as("all but the frame too short to name its NAT gateway").isEqualTo(4);
    }

    @Test
    void shouldNotTranslateWhatClaimsToComeFromTheNatGatewayItselfOrGoesToTheSystemsRanges() {
        learnPublicRouter();
        process(synFromPrivate(NAT_IP, 40000, INTERNET_HOST, 80), VTEP);
        process(synFromPrivate(PRIVATE_HOST, 40000, ip("198.18.0.1"), 80), VTEP);
        process(synFromPrivate(PRIVATE_HOST, 40000, ENI_IP, 80), VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_SPOOF)).isEqualTo(1);
        assertThat(count(Counter.DROP_RESERVED_DESTINATION)).isEqualTo(1);
        assertThat(count(Counter.DROP_NO_ROUTE)).as("another Hyperplane address of the VPC").isEqualTo(1);
        assertThat(nat(NatGatewayMetric.PACKETS_DROP_COUNT)).isEqualTo(3);
    }

    @Test
    void shouldKeepANatGatewaysFiguresAcrossAReloadAndDropThemWhenItGoes() {
        learnPublicRouter();
        outThroughNat(synFromPrivate(PRIVATE_HOST, 40000, INTERNET_HOST, 80));
        forwarder.config(CompiledConfig.compile(TestConfigs.wayOut(2)));
        assertThat(nat(NatGatewayMetric.CONNECTION_ATTEMPT_COUNT)).isEqualTo(1);
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(3)));
        assertThat(forwarder.natGatewayCounters().size()).isZero();
        process(TestFrames.tcp(PUBLIC_VNI, PUBLIC_ROUTER_MAC, NAT_MAC, INTERNET_HOST, 80, NAT_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_UNKNOWN_VNI)).as("its subnet went with it").isEqualTo(1);
    }

    // ---- route targets of Lambda ENIs and the service egress --------------------------------------

    private void lambdaTo(int destination, int port) {
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, destination, port, TcpHeader.SYN, 0), HOST);
    }

    @Test
    void shouldSendALambdaEnisNatGatewayRouteToItsSubnetsRouter() {
        process(TestFrames.arp(SUBNET1_VNI, ROUTER1_MAC, ENI_MAC, ArpPacket.REPLY, ROUTER1_MAC, ROUTER1, ENI_MAC, ENI_IP), VTEP);
        lambdaTo(INTERNET_HOST, 80);
        FrameDecoder d = decode(out.only());
        assertThat(d.vxlan.vni()).isEqualTo(SUBNET1_VNI);
        assertThat(d.ethernet.destination()).isEqualTo(ROUTER1_MAC);
        assertThat(d.ip.source()).isEqualTo(ENI_IP);
        assertThat(d.ip.destination()).isEqualTo(INTERNET_HOST);
    }

    @Test
    void shouldNotLetALambdaEniOutThroughAnInternetGateway() {
        forwarder.config(CompiledConfig.compile(TestConfigs.wayOut(2, publicRoutesToIgw(), publicRoutesToIgw(), defaultAcl())));
        process(TestFrames.arp(SUBNET1_VNI, ROUTER1_MAC, ENI_MAC, ArpPacket.REPLY, ROUTER1_MAC, ROUTER1, ENI_MAC, ENI_IP), VTEP);
        lambdaTo(INTERNET_HOST, 80);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_ROUTE)).isEqualTo(1);
    }

    @Test
    void shouldNotLetAnEeAddressTheNatGatewayItself() {
        lambdaTo(NAT_IP, 80);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_ROUTE)).isEqualTo(1);
    }

    @Test
    void shouldForwardTheServiceEgressOnlyToPublicDestinationsThroughItsRouter() {
        process(TestFrames.arp(EGRESS_VNI, EGRESS_ROUTER_MAC, EGRESS_MAC, ArpPacket.REPLY, EGRESS_ROUTER_MAC, EGRESS_ROUTER, EGRESS_MAC, EGRESS_IP),
                EGRESS_VTEP);
        for (String refused : List.of("10.0.1.10", "172.16.0.1", "192.168.1.1", "198.18.0.21", "100.64.0.11", "100.100.0.1", "127.0.0.1")) {
            process(TestFrames.tcp(EE3_VNI, EE3_MAC, GATEWAY_MAC, EE3_IP, 40000, ip(refused), 80, TcpHeader.SYN, 0), HOST);
        }
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_RESERVED_DESTINATION)).isEqualTo(7);

        process(TestFrames.tcp(EE3_VNI, EE3_MAC, GATEWAY_MAC, EE3_IP, 40000, INTERNET_HOST, 80, TcpHeader.SYN, 0), HOST);
        RecordingSink.Sent sent = out.only();
        assertThat(sent.destinationIp()).isEqualTo(EGRESS_VTEP);
        FrameDecoder d = decode(sent);
        assertThat(d.vxlan.vni()).isEqualTo(EGRESS_VNI);
        assertThat(d.ethernet.destination()).isEqualTo(EGRESS_ROUTER_MAC);
        assertThat(d.ip.source()).isEqualTo(EGRESS_IP);
        assertThat(d.ip.destination()).isEqualTo(INTERNET_HOST);
    }
}
