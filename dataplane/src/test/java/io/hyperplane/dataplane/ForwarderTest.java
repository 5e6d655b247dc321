package io.hyperplane.dataplane;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.FlowCounts;
import io.hyperplane.dataplane.flow.FlowReplication;
import io.hyperplane.dataplane.flow.FlowState;
import io.hyperplane.dataplane.flow.FlowTable;
import io.hyperplane.dataplane.flow.FlowTimeouts;
import io.hyperplane.dataplane.flow.ThreadSteering;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.Checksums;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.IcmpHeader;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.Malformation;
import io.hyperplane.packet.TcpHeader;
import io.hyperplane.packet.VxlanHeader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;

class ForwarderTest {
    private static final int PORT = VxlanHeader.UDP_PORT;
    private final RecordingSink out = new RecordingSink();
    private Forwarder forwarder;

    @BeforeEach
    void setUp() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1 << 16));
        forwarder.startClock(1000);
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
    }

    private void process(ByteBuffer frame, int outerSource) {
        forwarder.process(frame, 0, frame.limit(), outerSource, out);
    }

    private long count(Counter c) {
        return forwarder.counters().get(c);
    }

    private FrameDecoder decode(RecordingSink.Sent sent) {
        FrameDecoder d = new FrameDecoder();
        assertThat(d.decode(sent.bytes(), 0, sent.bytes().limit())).isEqualTo(Malformation.NONE);
        return d;
    }

    /** Teaches the node a VPC neighbor the way it learns in the lab: an ARP reply to the ENI. */
    private void learn(int vni, int ip, long mac) {
        process(TestFrames.arp(vni, mac, ENI_MAC, ArpPacket.REPLY, mac, ip, ENI_MAC, ENI_IP), VTEP);
    }

    private FrameDecoder eeSyn(int sport, int dst, int dport) {
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, sport, dst, dport, TcpHeader.SYN, 0), HOST);
        RecordingSink.Sent sent = out.only();
        assertThat(sent.destinationIp()).isEqualTo(VTEP);
        return decode(sent);
    }

    @Test
    void shouldAnswerArpForTheGatewayOnTheEeSide() {
        process(TestFrames.arp(EE1_VNI, EE1_MAC, MacAddress.BROADCAST, ArpPacket.REQUEST, EE1_MAC, EE1_IP, 0, GATEWAY_IP), HOST);

        RecordingSink.Sent sent = out.only();
        assertThat(sent.destinationIp()).isEqualTo(HOST);
        assertThat(sent.destinationPort()).isEqualTo(PORT);
        FrameDecoder d = decode(sent);
        assertThat(d.vxlan.vni()).isEqualTo(EE1_VNI);
        assertThat(d.ethernet.destination()).isEqualTo(EE1_MAC);
        assertThat(d.arp.operation()).isEqualTo(ArpPacket.REPLY);
        assertThat(d.arp.senderMac()).isEqualTo(GATEWAY_MAC);
        assertThat(d.arp.senderIp()).isEqualTo(GATEWAY_IP);
        assertThat(d.arp.targetIp()).isEqualTo(EE1_IP);
    }

    @Test
    void shouldAnswerArpForTheEniAddressOnTheVpcSide() {
        process(TestFrames.arp(SUBNET1_VNI, RES1_MAC, MacAddress.BROADCAST, ArpPacket.REQUEST, RES1_MAC, RES1, 0, ENI_IP), VTEP);

        FrameDecoder d = decode(out.only());
        assertThat(d.arp.operation()).isEqualTo(ArpPacket.REPLY);
        assertThat(d.arp.senderMac()).isEqualTo(ENI_MAC);
        assertThat(d.arp.senderIp()).isEqualTo(ENI_IP);
        assertThat(d.ethernet.destination()).isEqualTo(RES1_MAC);
    }

    @Test
    void shouldHoldTheFirstPacketWhileResolvingTheNextHopThenSendIt() {
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.SYN, 0), HOST);

        FrameDecoder request = decode(out.only());
        assertThat(request.vxlan.vni()).isEqualTo(SUBNET1_VNI);
        assertThat(request.arp.operation()).isEqualTo(ArpPacket.REQUEST);
        assertThat(request.arp.senderIp()).isEqualTo(ENI_IP);
        assertThat(request.arp.targetIp()).isEqualTo(RES1);

        learn(SUBNET1_VNI, RES1, RES1_MAC);

        FrameDecoder released = decode(out.only());
        assertThat(released.ethernet.destination()).isEqualTo(RES1_MAC);
        assertThat(released.ip.source()).isEqualTo(ENI_IP);
        assertThat(released.tcp.flags()).isEqualTo(TcpHeader.SYN);
        assertThat(count(Counter.FORWARDED_TO_VPC)).isEqualTo(1);
    }

    /** Fifty environments starting at once behind a new ENI: every first SYN goes out on the answer, none waits a retransmission. */
    @Test
    void shouldHoldABurstOfFirstPacketsForOneNextHopAndSendThemAllInOrder() {
        for (int i = 0; i < 50; i++) {
            process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000 + i, RES1, 5432, TcpHeader.SYN, 0), HOST);
        }
        assertThat(out.sent).as("one request for the burst").hasSize(1);
        out.sent.clear();

        learn(SUBNET1_VNI, RES1, RES1_MAC);

        assertThat(out.sent).hasSize(50);
        for (int i = 0; i < 50; i++) {
            FrameDecoder released = decode(out.sent.get(i));
            assertThat(released.ethernet.destination()).isEqualTo(RES1_MAC);
            assertThat(released.tcp.sourcePort()).as("arrival order").isEqualTo(40000 + i);
        }
        assertThat(count(Counter.DROP_ARP_UNRESOLVED)).isZero();
    }

    @Test
    void shouldForwardHeldPacketsFromDirectBuffersWithValidChecksums() {
        ByteBuffer heap = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.SYN, 0);
        ByteBuffer direct = ByteBuffer.allocateDirect(4096);
        direct.put(1000, heap, 0, heap.limit());
        forwarder.process(direct, 1000, heap.limit(), HOST, out);
        out.take();
        learn(SUBNET1_VNI, RES1, RES1_MAC);

        FrameDecoder released = decode(out.only());
        assertThat(released.ip.hasValidChecksum()).isTrue();
        assertThat(Checksums.transportValid(released.ip, released.l4Offset(), released.l4Length())).isTrue();
    }

    @Test
    void shouldTranslateATcpConnectionBothWaysWithValidChecksums() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        FrameDecoder syn = eeSyn(40000, RES1, 5432);
        assertThat(syn.vxlan.vni()).isEqualTo(SUBNET1_VNI);
        assertThat(syn.ethernet.source()).isEqualTo(ENI_MAC);
        assertThat(syn.ethernet.destination()).isEqualTo(RES1_MAC);
        assertThat(syn.ip.source()).isEqualTo(ENI_IP);
        assertThat(syn.ip.destination()).isEqualTo(RES1);
        assertThat(syn.ip.ttl()).isEqualTo(63);
        assertThat(syn.ip.hasValidChecksum()).isTrue();
        assertThat(syn.tcp.sourcePort()).isEqualTo(40000); // port preserved when free
        assertThat(Checksums.transportValid(syn.ip, syn.l4Offset(), syn.l4Length())).isTrue();

        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 5), VTEP);

        RecordingSink.Sent back = out.only();
        assertThat(back.destinationIp()).isEqualTo(HOST);
        FrameDecoder d = decode(back);
        assertThat(d.vxlan.vni()).isEqualTo(EE1_VNI);
        assertThat(d.ethernet.source()).isEqualTo(GATEWAY_MAC);
        assertThat(d.ethernet.destination()).isEqualTo(EE1_MAC);
        assertThat(d.ip.destination()).isEqualTo(EE1_IP);
        assertThat(d.tcp.destinationPort()).isEqualTo(40000);
        assertThat(d.ip.hasValidChecksum()).isTrue();
        assertThat(Checksums.transportValid(d.ip, d.l4Offset(), d.l4Length())).isTrue();
        int flow = forwarder.flows().findForward(EE1_VNI, 6, EE1_IP, 40000, RES1, 5432);
        assertThat(forwarder.flows().state(flow)).isEqualTo(FlowState.TCP_ESTABLISHED);
        assertThat(forwarder.flowCounts().natPorts(FlowCounts.eniKey(SUBNET1_VNI, ENI_IP))).isEqualTo(1);
        assertThat(forwarder.flowCounts().openOnEni(FlowCounts.eniKey(SUBNET1_VNI, ENI_IP))).isEqualTo(1);
    }

    /**
     * RFC 7348 §5: reserved bits are ignored on receipt and written as zero. A kernel VTEP drops a
     * frame with any of them set, so what came in with some (a member's relay mark, or any sender's)
     * goes out with none, whichever way it goes.
     */
    @Test
    void shouldSendEveryVxlanHeaderWithItsReservedBitsZero() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        ByteBuffer syn = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.SYN, 0);
        VxlanHeader.markRelayed(syn, 0, HOST);
        process(syn, HOST);
        assertCleanHeader(out.only(), SUBNET1_VNI);

        ByteBuffer synAck = TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 0);
        synAck.put(0, (byte) 0xff);
        process(synAck, VTEP);
        assertCleanHeader(out.only(), EE1_VNI);

        ByteBuffer arp = TestFrames.arp(EE1_VNI, EE1_MAC, MacAddress.BROADCAST, ArpPacket.REQUEST, EE1_MAC, EE1_IP, 0, GATEWAY_IP);
        arp.put(VxlanHeader.LENGTH - 1, (byte) 0x5a);
        process(arp, HOST);
        assertCleanHeader(out.only(), EE1_VNI);
    }

    private static void assertCleanHeader(RecordingSink.Sent sent, int vni) {
        ByteBuffer b = sent.bytes();
        assertThat(b.getInt(0)).as("flags and reserved bytes").isEqualTo(VxlanHeader.FLAG_I << 24);
        assertThat(b.getInt(VxlanHeader.VNI_OFFSET)).as("VNI and reserved byte").isEqualTo(vni << 8);
    }

    @Test
    void shouldRouteOtherSubnetsThroughTheSubnetGateway() {
        learn(SUBNET1_VNI, ROUTER1, ROUTER1_MAC);
        FrameDecoder d = eeSyn(40001, RES2, 80);
        assertThat(d.ethernet.destination()).isEqualTo(ROUTER1_MAC);
        assertThat(d.vxlan.vni()).isEqualTo(SUBNET1_VNI);
        assertThat(d.ip.destination()).isEqualTo(RES2);
    }

    @Test
    void shouldGiveTwoEesConnectingFromTheSamePortDistinctTranslations() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.SYN, 0), HOST);
        process(TestFrames.tcp(EE2_VNI, EE2_MAC, GATEWAY_MAC, EE2_IP, 40000, RES1, 5432, TcpHeader.SYN, 0), HOST);
        FrameDecoder a = decode(out.take());
        int portA = a.tcp.sourcePort();
        FrameDecoder b = decode(out.take());
        assertThat(b.ip.source()).isEqualTo(ENI_IP);
        assertThat(b.tcp.sourcePort()).isNotEqualTo(portA);

        // Each reply reaches its own EE.
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, b.tcp.sourcePort(), TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        FrameDecoder back = decode(out.only());
        assertThat(back.vxlan.vni()).isEqualTo(EE2_VNI);
        assertThat(back.ip.destination()).isEqualTo(EE2_IP);
        assertThat(back.tcp.destinationPort()).isEqualTo(40000);
    }

    /** One of three forwarding threads: a translation other than the source port steers like it. */
    @Test
    void shouldKeepATranslationOnTheSourcePortsThread() {
        ThreadSteering steering = new ThreadSteering(3);
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024).perThread(3), 3);
        forwarder.startClock(1000);
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40001, RES1, 5432, TcpHeader.SYN, 0), HOST);
        process(TestFrames.tcp(EE2_VNI, EE2_MAC, GATEWAY_MAC, EE2_IP, 40001, RES1, 5432, TcpHeader.SYN, 0), HOST);
        process(TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, 77, 1), HOST);

        assertThat(decode(out.take()).tcp.sourcePort()).as("preserved").isEqualTo(40001);
        int moved = decode(out.take()).tcp.sourcePort();
        assertThat(moved).isNotEqualTo(40001);
        assertThat(steering.thread(5432 + moved)).isEqualTo(steering.thread(5432 + 40001));
        int identifier = decode(out.take()).icmp.identifier();
        assertThat(identifier).as("below 1024: never preserved").isGreaterThanOrEqualTo(1024);
        assertThat(steering.thread(identifier)).isEqualTo(steering.thread(77));
    }

    @Test
    void shouldSplitSizesAndQuotasPerThreadRoundingUp() {
        Forwarder.Settings share = Forwarder.Settings.DEFAULTS.withFlowQuotas(65_000, 4_097).perThread(2);
        assertThat(share.flowCapacity()).isEqualTo(500_000);
        assertThat(share.eniFlowQuota()).isEqualTo(32_500);
        assertThat(share.environmentFlowQuota()).isEqualTo(2_049);
        assertThat(share.natConnectionsPerDestination()).isEqualTo(27_500);
        assertThat(share.neighborCapacity()).as("every thread resolves its own next hops").isEqualTo(16_384);
        assertThat(Forwarder.Settings.DEFAULTS.perThread(1)).isEqualTo(Forwarder.Settings.DEFAULTS);
    }

    @Test
    void shouldTranslateUdpAndIcmpEcho() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5353, RES1, 53, 12), HOST);
        FrameDecoder udp = decode(out.only());
        assertThat(udp.ip.source()).isEqualTo(ENI_IP);
        assertThat(Checksums.transportValid(udp.ip, udp.l4Offset(), udp.l4Length())).isTrue();
        process(TestFrames.udp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 53, ENI_IP, udp.udp.sourcePort(), 12), VTEP);
        FrameDecoder reply = decode(out.only());
        assertThat(reply.udp.destinationPort()).isEqualTo(5353);
        assertThat(Checksums.transportValid(reply.ip, reply.l4Offset(), reply.l4Length())).isTrue();

        process(TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, 77, 1), HOST);
        FrameDecoder ping = decode(out.only());
        int natId = ping.icmp.identifier();
        assertThat(Checksums.finish(Checksums.sum(ping.buffer(), ping.l4Offset(), ping.l4Length(), 0))).isZero();
        process(TestFrames.icmpEcho(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, ENI_IP, IcmpHeader.ECHO_REPLY, natId, 1), VTEP);
        FrameDecoder pong = decode(out.only());
        assertThat(pong.icmp.identifier()).isEqualTo(77);
        assertThat(pong.ip.destination()).isEqualTo(EE1_IP);
        assertThat(Checksums.finish(Checksums.sum(pong.buffer(), pong.l4Offset(), pong.l4Length(), 0))).isZero();
    }

    @Test
    void shouldTranslateIcmpErrorsIncludingTheEmbeddedHeader() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5353, RES1, 53, 4), HOST);
        RecordingSink.Sent sent = out.only();
        ByteBuffer translated = sent.bytes();

        process(TestFrames.icmpError(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, IcmpHeader.DESTINATION_UNREACHABLE, 3, translated, 8), VTEP);

        FrameDecoder d = decode(out.only());
        assertThat(d.ip.destination()).isEqualTo(EE1_IP);
        assertThat(d.ip.hasValidChecksum()).isTrue();
        assertThat(Checksums.finish(Checksums.sum(d.buffer(), d.l4Offset(), d.l4Length(), 0))).as("ICMP checksum").isZero();
        assertThat(d.decodeIcmpError()).isEqualTo(Malformation.NONE);
        assertThat(d.embeddedIp.source()).isEqualTo(EE1_IP);
        assertThat(d.embeddedIp.hasValidChecksum()).isTrue();
        assertThat(d.buffer().getShort(d.embeddedL4Offset()) & 0xffff).isEqualTo(5353);
    }

    @Test
    void shouldDropNewFlowsTheSecurityGroupDoesNotAllow() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 7, TcpHeader.SYN, 0), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_SG_DENY)).isEqualTo(1);
        assertThat(forwarder.flows().size()).isZero();
    }

    @Test
    void shouldAllowSecurityGroupReferencesByMembership() {
        learn(SUBNET1_VNI, ROUTER1, ROUTER1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, ip("10.0.2.30"), 6379, TcpHeader.SYN, 0), HOST);
        assertThat(out.only().destinationIp()).isEqualTo(VTEP);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40001, ip("10.0.2.31"), 6379, TcpHeader.SYN, 0), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_SG_DENY)).isEqualTo(1);
    }

    @Test
    void shouldApplyNetworkAclDenyRulesInBothDirections() {
        var denyOut = List.of(
                new NodeSnapshot.NetworkAclEntry(50, true, "tcp", "deny", "10.0.1.10/32", 80, 80, -1, -1),
                allowAll(100, true),
                new NodeSnapshot.NetworkAclEntry(50, false, "tcp", "deny", "10.0.1.11/32", 0, 65535, -1, -1),
                allowAll(100, false));
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(2, denyOut, defaultRoutes())));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        learn(SUBNET1_VNI, ip("10.0.1.11"), RES1_MAC + 1);

        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NACL_DENY)).isEqualTo(1);

        FrameDecoder syn = eeSyn(40001, ip("10.0.1.11"), 80); // outbound allowed...
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC + 1, ENI_MAC, ip("10.0.1.11"), 80, ENI_IP, syn.tcp.sourcePort(),
                TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        assertThat(out.isEmpty()).isTrue(); // ...the reply is not: NACLs are stateless
        assertThat(count(Counter.DROP_NACL_DENY)).isEqualTo(2);
    }

    @Test
    void shouldDenyEverythingWhenNoAclRuleMatches() {
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(2, List.of(allowAll(100, false)), defaultRoutes())));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        assertThat(count(Counter.DROP_NACL_DENY)).isEqualTo(1);
    }

    @Test
    void shouldDropDestinationsWithoutARouteOrBlackholed() {
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(2, defaultAcl(),
                List.of(new NodeSnapshot.Route("10.0.0.0/16", "local"),
                        new NodeSnapshot.Route("10.0.2.0/24", "blackhole")))));
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES2, 80, TcpHeader.SYN, 0), HOST);
        process(TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, ip("192.0.2.1"), 53, 1), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_ROUTE)).isEqualTo(1);
        assertThat(count(Counter.DROP_SG_DENY)).isEqualTo(1); // 192.0.2.1 is outside the SG's CIDR first
    }

    @Test
    void shouldDropSpoofedSourcesHostsAndMacs() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE2_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.SYN, 0), ip("198.18.0.12"));
        process(TestFrames.tcp(EE1_VNI, EE2_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        process(TestFrames.arp(EE1_VNI, EE1_MAC, MacAddress.BROADCAST, ArpPacket.REQUEST, EE1_MAC, EE2_IP, 0, GATEWAY_IP), HOST);
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 80, ENI_IP, 40000, TcpHeader.SYN, 0), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_SPOOF)).isEqualTo(5);
    }

    @Test
    void shouldDropUnknownVnisAndMalformedFrames() {
        process(TestFrames.tcp(7777, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        ByteBuffer truncated = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.SYN, 0);
        forwarder.process(truncated, 0, 30, HOST, out);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_UNKNOWN_VNI)).isEqualTo(1);
        assertThat(count(Counter.DROP_MALFORMED)).isEqualTo(1);
        assertThat(forwarder.counters().malformedCount(Malformation.TRUNCATED_IPV4)).isEqualTo(1);
    }

    @Test
    void shouldNeverLetTheVpcOpenAConnection() {
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5000, ENI_IP, 40000, TcpHeader.SYN, 0), VTEP);
        process(TestFrames.udp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 53, ENI_IP, 5353, 4), VTEP);
        process(TestFrames.icmpEcho(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, ENI_IP, IcmpHeader.ECHO_REQUEST, 1, 1), VTEP);
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5000, EE1_IP, 40000, TcpHeader.SYN, 0), VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_FLOW)).isEqualTo(4);
    }

    @Test
    void shouldNotLetAnEeReachEniAddressesOrTheGateway() {
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, ENI_IP, 80, TcpHeader.SYN, 0), HOST);
        process(TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, GATEWAY_IP, IcmpHeader.ECHO_REQUEST, 1, 1), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_ROUTE)).isEqualTo(1);
        assertThat(count(Counter.DROP_RESERVED_DESTINATION)).isEqualTo(1); // the gateway is in the EE range
    }

    @Test
    void shouldDropMidStreamTcpWithoutAFlow() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.ACK, 10), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_FLOW)).isEqualTo(1);
    }

    @Test
    void shouldKeepEstablishedFlowsAcrossAReloadEvenWhenTheSecurityGroupNoLongerAllowsThem() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        FrameDecoder syn = eeSyn(40000, RES1, 5432);
        int natPort = syn.tcp.sourcePort();
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        out.take();

        var snapshot = TestConfigs.snapshot(3);
        var noDb = new NodeSnapshot(3, snapshot.eeGateway(), snapshot.vpcs(), snapshot.subnets(),
                List.of(new NodeSnapshot.SecurityGroup("sg-lambda", List.of(), List.of()),
                        snapshot.securityGroups().get(1)),
                snapshot.networkAcls(), snapshot.routeTables(), snapshot.enis(), snapshot.executionEnvironments());
        forwarder.config(CompiledConfig.compile(noDb));

        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 20), HOST);
        assertThat(decode(out.only()).tcp.sourcePort()).isEqualTo(natPort);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40001, RES1, 5432, TcpHeader.SYN, 0), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_SG_DENY)).isEqualTo(1);
        assertThat(count(Counter.CONFIG_VERSION)).isEqualTo(3);
    }

    @Test
    void shouldExpireFlowsByStateTimeouts() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024));
        forwarder.startClock(0);
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        FrameDecoder syn = eeSyn(40000, RES1, 5432);
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, syn.tcp.sourcePort(), TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        process(TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5353, RES1, 53, 1), HOST);
        out.sent.clear();
        FlowTimeouts t = FlowTimeouts.DEFAULTS;

        forwarder.tick(t.udpUnreplied(), out);
        assertThat(forwarder.flows().size()).as("UDP gone after 30 s, TCP established stays").isEqualTo(1);
        forwarder.tick(t.tcpEstablished() - 1, out);
        assertThat(forwarder.flows().size()).isEqualTo(1);
        forwarder.tick(t.tcpEstablished(), out);
        assertThat(forwarder.flows().size()).isZero();
        assertThat(forwarder.flowCounts().natPorts(FlowCounts.eniKey(SUBNET1_VNI, ENI_IP))).isZero();
        assertThat(forwarder.flowCounts().openInEnvironment(EE1_VNI)).isZero();
        assertThat(count(Counter.FLOWS_EXPIRED)).isEqualTo(2);
    }

    @Test
    void shouldShortenTheTimeoutWhenAConnectionCloses() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024));
        forwarder.startClock(0);
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        int nat = eeSyn(40000, RES1, 5432).tcp.sourcePort();
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, nat, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.RST, 0), HOST);
        forwarder.tick(FlowTimeouts.DEFAULTS.tcpClosed(), out);
        assertThat(forwarder.flows().size()).isZero();
    }

    @Test
    void shouldReuseAClosedTupleForANewConnection() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        int nat = eeSyn(40000, RES1, 5432).tcp.sourcePort();
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.RST, 0), HOST);
        out.sent.clear();
        assertThat(eeSyn(40000, RES1, 5432).tcp.sourcePort()).isEqualTo(nat);
        assertThat(forwarder.flows().size()).isEqualTo(1);
    }

    @Test
    void shouldGiveTenThousandConcurrentFlowsDistinctTranslations() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1 << 16).withFlowQuotas(65_000, 65_000));
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            int vni = i % 2 == 0 ? EE1_VNI : EE2_VNI;
            process(TestFrames.tcp(vni, vni == EE1_VNI ? EE1_MAC : EE2_MAC, GATEWAY_MAC, vni == EE1_VNI ? EE1_IP : EE2_IP,
                    30000 + i / 2, RES1, 80, TcpHeader.SYN, 0), HOST);
            FrameDecoder d = decode(out.only());
            assertThat(d.ip.source()).isEqualTo(ENI_IP);
            ports.add(d.tcp.sourcePort());
        }
        assertThat(ports).hasSize(10_000);
        assertThat(forwarder.flowCounts().natPorts(FlowCounts.eniKey(SUBNET1_VNI, ENI_IP))).isEqualTo(10_000);
    }

    /**
     * Two nodes of a fleet with complementary port blocks (as {@code FleetPlan.of} deals them to two
     * members), 10,000 concurrent flows from two environments with the same source ports to one
     * destination, spread over both as ECMP would: every translation distinct across the nodes, and
     * each in its own node's blocks, so a VPC router's block route brings the reply back to it.
     */
    @Test
    void shouldGiveTwoNodesFlowsDistinctTranslationsFromTheirOwnBlocks() {
        int evenBlocks = 0x5555;
        int oddBlocks = 0xAAAA;
        Forwarder[] nodes = {fleetNode(evenBlocks), fleetNode(oddBlocks)};
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            int vni = i % 2 == 0 ? EE1_VNI : EE2_VNI;
            int node = (i / 2) % 2; // both environments' flow from port p on one node, p+1 on the other
            processOn(nodes[node], TestFrames.tcp(vni, vni == EE1_VNI ? EE1_MAC : EE2_MAC, GATEWAY_MAC, vni == EE1_VNI ? EE1_IP : EE2_IP,
                    1024 + 5 * (i / 2), RES1, 80, TcpHeader.SYN, 0), HOST);
            FrameDecoder d = decode(out.only());
            int port = d.tcp.sourcePort();
            int block = FleetPlan.blockOf(port);
            assertThat(((node == 0 ? evenBlocks : oddBlocks) >> block) & 1).as("port %d of node %d", port, node).isEqualTo(1);
            assertThat(ports.add(port)).as("port %d handed out twice", port).isTrue();
        }
        assertThat(ports).hasSize(10_000);
    }

    /**
     * Node A copies its flows to node B (its records applied to B's table as they are made); A
     * dies after the SYN; the reply and the rest of the connection reach B, which promotes the copy
     * and carries on with A's NAT port and state; a copy of a flow A closes and removes is gone from B.
     */
    @Test
    void shouldPromoteACopyOnItsFirstPacketWithTheOwnersPortAndState() {
        Forwarder a = fleetNode(0x5555);
        Forwarder b = fleetNode(0xAAAA);
        a.replication(copiesTo(b));
        processOn(a, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, RES1, 5432, TcpHeader.SYN, 0), HOST);
        assertThat(a.sendingFirstPacket()).isFalse();
        int natPort = decode(out.only()).tcp.sourcePort();
        b.tick(1000, out);
        assertThat(b.counters().get(Counter.REPLICAS)).isEqualTo(1);
        assertThat(b.counters().get(Counter.FLOWS_ACTIVE)).as("a copy is not the node's own flow").isZero();

        processOn(b, TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, natPort, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        FrameDecoder back = decode(out.only());
        assertThat(back.ip.destination()).isEqualTo(EE1_IP);
        assertThat(back.tcp.destinationPort()).isEqualTo(5000);
        processOn(b, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, RES1, 5432, TcpHeader.ACK, 0), HOST);
        assertThat(decode(out.only()).tcp.sourcePort()).as("A's NAT port").isEqualTo(natPort);
        assertThat(b.counters().get(Counter.REPLICA_PROMOTIONS)).isEqualTo(1);
        int flow = b.flows().findForward(EE1_VNI, 6, EE1_IP, 5000, RES1, 5432);
        assertThat(b.flows().state(flow)).isEqualTo(FlowState.TCP_ESTABLISHED);
        assertThat(b.flowCounts().openOnEni(FlowCounts.eniKey(SUBNET1_VNI, ENI_IP))).as("now B's own").isEqualTo(1);

        processOn(a, TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 6000, RES1, 53, 8), HOST);
        out.take();
        int udp = a.flows().findForward(EE1_VNI, 17, EE1_IP, 6000, RES1, 53);
        assertThat(b.flows().findForward(EE1_VNI, 17, EE1_IP, 6000, RES1, 53)).isNotEqualTo(FlowTable.NONE);
        a.tick(a.flows().expiresAt(udp) + 1, out);
        assertThat(b.flows().findForward(EE1_VNI, 17, EE1_IP, 6000, RES1, 53)).as("removed with its owner's").isEqualTo(FlowTable.NONE);
    }

    /**
     * B holds A's flow as a copy, its NAT port in A's blocks, and A serves: a packet of it that
     * reaches B (its slot came home to B after A made it) is passed on to A as it came, not taken
     * over. When A is not heard, or when the port is in B's own blocks, B takes it over as before.
     */
    @Test
    void shouldPassAPacketOfAFlowItsOwnerKeepsOnToThatOwner() {
        Forwarder a = fleetNode(0x5555);
        Forwarder b = fleetNode(0xAAAA);
        a.replication(copiesTo(b));
        processOn(a, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, RES1, 5432, TcpHeader.SYN, 0), HOST);
        int natPort = decode(out.only()).tcp.sourcePort();
        List<int[]> asked = new ArrayList<>();
        boolean[] aServes = {true};
        b.peers((owner, frame, offset, length, outerSource, to) -> {
            asked.add(new int[] {owner, outerSource, length});
            return aServes[0];
        });

        ByteBuffer ack = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, RES1, 5432, TcpHeader.ACK, 0);
        processOn(b, ack, HOST);
        assertThat(out.isEmpty()).as("passed on by the peers, not forwarded by B").isTrue();
        assertThat(asked).singleElement().satisfies(q -> assertThat(q).containsExactly(1, HOST, ack.limit()));
        assertThat(b.counters().get(Counter.REDIRECTED_TO_OWNER)).isEqualTo(1);
        assertThat(b.counters().get(Counter.REPLICA_PROMOTIONS)).isZero();
        assertThat(b.flows().isReplica(b.flows().findForward(EE1_VNI, 6, EE1_IP, 5000, RES1, 5432))).as("still A's").isTrue();

        aServes[0] = false; // A not heard lately: it died, and this packet came to its backup
        processOn(b, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, RES1, 5432, TcpHeader.ACK, 0), HOST);
        assertThat(decode(out.only()).tcp.sourcePort()).as("taken over with A's NAT port").isEqualTo(natPort);
        assertThat(b.counters().get(Counter.REPLICA_PROMOTIONS)).isEqualTo(1);

        Forwarder c = fleetNode(0xFFFF); // a copy whose port is in C's own blocks: C's to take, nobody asked
        a.replication(copiesTo(c));
        processOn(a, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5001, RES1, 5432, TcpHeader.SYN, 0), HOST);
        out.take();
        asked.clear();
        c.peers((owner, frame, offset, length, outerSource, to) -> asked.add(new int[] {owner}));
        processOn(c, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5001, RES1, 5432, TcpHeader.ACK, 0), HOST);
        assertThat(decode(out.only()).tcp.sourcePort()).as("forwarded by C").isEqualTo(5001);
        assertThat(asked).isEmpty();
        assertThat(c.counters().get(Counter.REPLICA_PROMOTIONS)).isEqualTo(1);
    }

    /** Applies what the forwarder it is given to copies to {@code backup}'s table at once, as member 1's. */
    private static FlowReplication copiesTo(Forwarder backup) {
        return new FlowReplication() {
            @Override
            public void copy(FlowTable flows, int f, int now) {
                backup.replicaCopy(1, flows.vni(f), flows.protocol(f), flows.sourceIp(f), flows.eePort(f), flows.remoteIp(f),
                        flows.remotePort(f), flows.eniVni(f), flows.eniIp(f), flows.natPort(f), flows.state(f), flows.expiresAt(f) - now);
            }

            @Override
            public void forget(FlowTable flows, int f) {
                backup.replicaForget(flows.vni(f), flows.protocol(f), flows.sourceIp(f), flows.eePort(f), flows.remoteIp(f), flows.remotePort(f));
            }
        };
    }

    /** An ICMP identifier is a port too: taken from the node's blocks, even when the EE's own would be free. */
    @Test
    void shouldTakeIcmpIdentifiersFromTheNodesBlocks() {
        forwarder = fleetNode(0x0002); // block 1 only: 5056..9087
        processOn(forwarder, TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, 2000, 1), HOST);
        assertThat(decode(out.only()).icmp.identifier()).isBetween(5056, 9087);
        processOn(forwarder, TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, 6000, 1), HOST);
        assertThat(decode(out.only()).icmp.identifier()).as("preserved: in the block").isEqualTo(6000);
    }

    private Forwarder fleetNode(int blocks) {
        Forwarder node = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1 << 15).withFlowQuotas(65_000, 65_000));
        node.startClock(1000);
        node.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        node.ownPortBlocks(blocks);
        processOn(node, TestFrames.arp(SUBNET1_VNI, RES1_MAC, ENI_MAC, ArpPacket.REPLY, RES1_MAC, RES1, ENI_MAC, ENI_IP), VTEP);
        return node;
    }

    private void processOn(Forwarder node, ByteBuffer frame, int outerSource) {
        node.process(frame, 0, frame.limit(), outerSource, out);
    }

    @Test
    void shouldCountPortExhaustionOnceEveryPortToADestinationIsTaken() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(70_000).withFlowQuotas(65_000, 65_000));
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        for (int i = 0; i < 64_512; i++) {
            int eePort = i;
            int vni = eePort < 65536 / 2 ? EE1_VNI : EE2_VNI;
            boolean one = vni == EE1_VNI;
            process(TestFrames.udp(vni, one ? EE1_MAC : EE2_MAC, GATEWAY_MAC, one ? EE1_IP : EE2_IP, eePort % 32768 + (one ? 0 : 32768), RES1, 53, 0), HOST);
        }
        assertThat(count(Counter.FORWARDED_TO_VPC)).isEqualTo(64_512);
        out.sent.clear();
        process(TestFrames.udp(EE2_VNI, EE2_MAC, GATEWAY_MAC, EE2_IP, 65535, RES1, 53, 0), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_PORT_EXHAUSTION)).isEqualTo(1);
        // Another destination port is a different NAT space.
        process(TestFrames.udp(EE2_VNI, EE2_MAC, GATEWAY_MAC, EE2_IP, 65535, RES1, 54, 0), HOST);
        assertThat(count(Counter.DROP_SG_DENY)).isEqualTo(1); // 54 is not allowed: the NAT was not the obstacle
    }

    // ---- tenants' networks are independent (DESIGN.md §9) ----------------------------------------

    @Test
    void shouldKeepTwoEnisAtTheSameAddressInTwoVpcsApart() {
        forwarder.config(CompiledConfig.compile(TestConfigs.overlapping(2)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.arp(OTHER_SUBNET_VNI, OTHER_RES1_MAC, OTHER_ENI_MAC, ArpPacket.REPLY, OTHER_RES1_MAC, RES1, OTHER_ENI_MAC, ENI_IP),
                OTHER_VTEP);

        FrameDecoder mine = eeSyn(40000, RES1, 5432);
        process(TestFrames.tcp(OTHER_EE_VNI, OTHER_EE_MAC, GATEWAY_MAC, OTHER_EE_IP, 40000, RES1, 5432, TcpHeader.SYN, 0), HOST);
        RecordingSink.Sent sent = out.only();
        assertThat(sent.destinationIp()).isEqualTo(OTHER_VTEP);
        FrameDecoder theirs = decode(sent);
        assertThat(theirs.vxlan.vni()).isEqualTo(OTHER_SUBNET_VNI);
        assertThat(theirs.ethernet.source()).isEqualTo(OTHER_ENI_MAC);
        assertThat(theirs.ethernet.destination()).isEqualTo(OTHER_RES1_MAC);
        // Both keep port 40000: one address in two networks is two NAT spaces.
        assertThat(mine.ip.source()).isEqualTo(ENI_IP);
        assertThat(theirs.ip.source()).isEqualTo(ENI_IP);
        assertThat(mine.tcp.sourcePort()).isEqualTo(40000);
        assertThat(theirs.tcp.sourcePort()).isEqualTo(40000);

        // The same reply bytes on each tenant's VNI reach that tenant's EE only.
        process(TestFrames.tcp(OTHER_SUBNET_VNI, OTHER_RES1_MAC, OTHER_ENI_MAC, RES1, 5432, ENI_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 0),
                OTHER_VTEP);
        RecordingSink.Sent back = out.only();
        assertThat(decode(back).vxlan.vni()).isEqualTo(OTHER_EE_VNI);
        assertThat(decode(back).ip.destination()).isEqualTo(OTHER_EE_IP);
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, 40000, TcpHeader.SYN | TcpHeader.ACK, 0), VTEP);
        assertThat(decode(out.only()).vxlan.vni()).isEqualTo(EE1_VNI);

        // ARP for 10.0.1.4 is answered with the ENI of the asking subnet.
        process(TestFrames.arp(OTHER_SUBNET_VNI, OTHER_RES1_MAC, MacAddress.BROADCAST, ArpPacket.REQUEST, OTHER_RES1_MAC, RES1, 0, ENI_IP),
                OTHER_VTEP);
        assertThat(decode(out.only()).arp.senderMac()).isEqualTo(OTHER_ENI_MAC);
        assertThat(forwarder.flowCounts().natPorts(FlowCounts.eniKey(SUBNET1_VNI, ENI_IP))).isEqualTo(1);
        assertThat(forwarder.flowCounts().natPorts(FlowCounts.eniKey(OTHER_SUBNET_VNI, ENI_IP))).isEqualTo(1);
    }

    @Test
    void shouldNotAnswerAnotherVpcsEniOrLetItsRepliesIn() {
        forwarder.config(CompiledConfig.compile(TestConfigs.overlapping(2)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        int nat = eeSyn(40000, RES1, 5432).tcp.sourcePort();
        // A reply for the first tenant's flow sent from the second tenant's subnet finds no flow there.
        process(TestFrames.tcp(OTHER_SUBNET_VNI, OTHER_RES1_MAC, OTHER_ENI_MAC, RES1, 5432, ENI_IP, nat, TcpHeader.SYN | TcpHeader.ACK, 0),
                OTHER_VTEP);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_NO_FLOW)).isEqualTo(1);
    }

    @Test
    void shouldDropWhatAnEeSendsTowardTheUnderlayOrTheEeRangeWhateverTheRoutes() {
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(2, defaultAcl(),
                List.of(new NodeSnapshot.Route("0.0.0.0/0", "local")))));
        process(TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, VTEP, VxlanHeader.UDP_PORT, 8), HOST);
        process(TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, ip("198.19.0.2"), VxlanHeader.UDP_PORT, 8), HOST);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, EE2_IP, 80, TcpHeader.SYN, 0), HOST);
        process(TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, GATEWAY_IP, IcmpHeader.ECHO_REQUEST, 1, 1), HOST);
        assertThat(out.isEmpty()).isTrue();
        assertThat(count(Counter.DROP_RESERVED_DESTINATION)).isEqualTo(4);
    }

    @Test
    void shouldStopAnEnvironmentAtItsFlowQuotaWithoutStoppingAnother() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024).withFlowQuotas(100, 10));
        forwarder.config(CompiledConfig.compile(TestConfigs.snapshot(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        for (int i = 0; i < 11; i++) {
            process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000 + i, RES1, 80, TcpHeader.SYN, 0), HOST);
        }
        assertThat(out.sent).hasSize(10);
        assertThat(count(Counter.DROP_FLOW_QUOTA)).isEqualTo(1);
        out.sent.clear();

        process(TestFrames.tcp(EE2_VNI, EE2_MAC, GATEWAY_MAC, EE2_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        assertThat(out.only().destinationIp()).isEqualTo(VTEP);

        // A connection that ends gives its place back: the next one passes.
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 80, TcpHeader.RST, 0), HOST);
        out.sent.clear();
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40011, RES1, 80, TcpHeader.SYN, 0), HOST);
        assertThat(out.only().destinationIp()).isEqualTo(VTEP);
        assertThat(forwarder.flowCounts().openInEnvironment(EE1_VNI)).isEqualTo(10);
        assertThat(count(Counter.DROP_FLOW_QUOTA)).isEqualTo(1);
    }

    @Test
    void shouldStopAnEniAtItsFlowQuotaWithoutStoppingAnotherTenantsEni() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024).withFlowQuotas(15, 10));
        forwarder.config(CompiledConfig.compile(TestConfigs.overlapping(1)));
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        process(TestFrames.arp(OTHER_SUBNET_VNI, OTHER_RES1_MAC, OTHER_ENI_MAC, ArpPacket.REPLY, OTHER_RES1_MAC, RES1, OTHER_ENI_MAC, ENI_IP),
                OTHER_VTEP);
        for (int i = 0; i < 10; i++) {
            process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000 + i, RES1, 80, TcpHeader.SYN, 0), HOST);
            process(TestFrames.tcp(EE2_VNI, EE2_MAC, GATEWAY_MAC, EE2_IP, 40000 + i, RES1, 80, TcpHeader.SYN, 0), HOST);
        }
        assertThat(out.sent).hasSize(15);
        assertThat(count(Counter.DROP_FLOW_QUOTA)).isEqualTo(5);
        out.sent.clear();
        process(TestFrames.tcp(OTHER_EE_VNI, OTHER_EE_MAC, GATEWAY_MAC, OTHER_EE_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        assertThat(out.only().destinationIp()).isEqualTo(OTHER_VTEP);
    }

    @Test
    void shouldBoundEachSubnetsShareOfTheNeighborTableAndReclaimExpiredEntries() {
        forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1024).withNeighbors(1_000, 100));
        forwarder.startClock(0);
        forwarder.config(CompiledConfig.compile(TestConfigs.overlapping(1)));
        for (int i = 0; i < 200; i++) { // one subnet answering from 200 addresses
            long mac = 0x0200_0000_1000L + i;
            process(TestFrames.arp(SUBNET1_VNI, mac, MacAddress.BROADCAST, ArpPacket.REQUEST, mac, ip("10.0.1.16") + i, 0, ENI_IP), VTEP);
        }
        assertThat(count(Counter.ARP_ENTRIES_LEARNED)).isEqualTo(100);
        assertThat(count(Counter.ARP_LEARN_REFUSED)).isEqualTo(100);
        out.sent.clear();

        // The other tenant's subnet still learns its next hop and forwards at once.
        process(TestFrames.arp(OTHER_SUBNET_VNI, OTHER_RES1_MAC, OTHER_ENI_MAC, ArpPacket.REPLY, OTHER_RES1_MAC, RES1, OTHER_ENI_MAC, ENI_IP),
                OTHER_VTEP);
        process(TestFrames.tcp(OTHER_EE_VNI, OTHER_EE_MAC, GATEWAY_MAC, OTHER_EE_IP, 40000, RES1, 80, TcpHeader.SYN, 0), HOST);
        assertThat(decode(out.only()).ethernet.destination()).isEqualTo(OTHER_RES1_MAC);

        // Expired entries are reclaimed by the sweep, and the subnet learns again.
        int later = forwarder.settings().neighborTtlSeconds();
        for (int sweep = 0; sweep <= 3 * forwarder.neighbors().slots(); sweep += 8192) {
            forwarder.tick(++later, out); // the sweep runs once a second
        }
        assertThat(forwarder.neighbors().size()).isZero();
        assertThat(count(Counter.ARP_ENTRIES_EXPIRED)).isEqualTo(101);
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        assertThat(forwarder.neighbors().sizeOf(SUBNET1_VNI)).isEqualTo(1);
    }

    /**
     * Issue 15: the node's entry for a next hop it is sending to used to lapse once a TTL, and
     * every packet to that host was dropped until an ARP round trip finished, for seconds when
     * the answer queued behind a burst. Now the node asks ahead and keeps forwarding.
     */
    @Test
    void shouldKeepForwardingToANextHopInUseAcrossItsTtlByAskingItAhead() {
        learn(SUBNET1_VNI, RES1, RES1_MAC); // at 1000
        int ttl = forwarder.settings().neighborTtlSeconds();
        FrameDecoder syn = eeSyn(40000, RES1, 5432);
        assertThat(syn.ethernet.destination()).isEqualTo(RES1_MAC);
        establish(40000);
        long requestsBefore = count(Counter.ARP_REQUESTS_SENT);

        forwarder.tick(1000 + ttl - 5, out); // the last seconds of the entry: the next packet also asks
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 0), HOST);

        assertThat(out.sent).hasSize(2);
        assertThat(decode(out.sent.get(0)).tcp.flags()).as("the packet goes out first, on the MAC we have").isEqualTo(TcpHeader.ACK);
        FrameDecoder request = decode(out.sent.get(1));
        assertThat(request.arp.operation()).isEqualTo(ArpPacket.REQUEST);
        assertThat(request.arp.targetIp()).isEqualTo(RES1);
        assertThat(request.ethernet.destination()).as("a unicast poll (RFC 1122 2.3.2.1)").isEqualTo(RES1_MAC);
        assertThat(count(Counter.ARP_REQUESTS_SENT)).isEqualTo(requestsBefore + 1);
        out.sent.clear();

        learn(SUBNET1_VNI, RES1, RES1_MAC); // the answer
        forwarder.tick(1000 + ttl + 1, out); // past the old expiry
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 1), HOST);

        assertThat(decode(out.only()).ethernet.destination()).as("no gap at the old expiry").isEqualTo(RES1_MAC);
        assertThat(count(Counter.DROP_ARP_UNRESOLVED)).isZero();
    }

    @Test
    void shouldResolveAgainWhenANextHopStopsAnsweringItsRefreshes() {
        learn(SUBNET1_VNI, RES1, RES1_MAC);
        int ttl = forwarder.settings().neighborTtlSeconds();
        eeSyn(40000, RES1, 5432);
        establish(40000);
        forwarder.tick(1000 + ttl - 1, out);
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 0), HOST);
        out.sent.clear();

        forwarder.tick(1000 + ttl, out); // never answered: the entry lapses on time
        process(TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.ACK, 1), HOST);

        FrameDecoder request = decode(out.only());
        assertThat(request.arp.operation()).as("held and resolved as for a new next hop").isEqualTo(ArpPacket.REQUEST);
        assertThat(request.ethernet.destination()).isEqualTo(MacAddress.BROADCAST);
    }

    /** The server's SYN-ACK for the connection from EE port {@code port} (port preserved): the flow is established. */
    private void establish(int port) {
        process(TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 5432, ENI_IP, port, TcpHeader.SYN | TcpHeader.ACK, 5), VTEP);
        assertThat(out.only().destinationIp()).isEqualTo(HOST);
    }
}
