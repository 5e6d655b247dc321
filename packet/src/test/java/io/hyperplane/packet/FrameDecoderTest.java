package io.hyperplane.packet;

import static io.hyperplane.packet.Malformation.BAD_ARP;
import static io.hyperplane.packet.Malformation.BAD_EMBEDDED;
import static io.hyperplane.packet.Malformation.BAD_IHL;
import static io.hyperplane.packet.Malformation.BAD_IP_CHECKSUM;
import static io.hyperplane.packet.Malformation.BAD_IP_VERSION;
import static io.hyperplane.packet.Malformation.BAD_TCP_OFFSET;
import static io.hyperplane.packet.Malformation.BAD_TOTAL_LENGTH;
import static io.hyperplane.packet.Malformation.BAD_UDP_LENGTH;
import static io.hyperplane.packet.Malformation.FRAGMENT;
import static io.hyperplane.packet.Malformation.IPV6;
import static io.hyperplane.packet.Malformation.NONE;
import static io.hyperplane.packet.Malformation.TRUNCATED_ARP;
import static io.hyperplane.packet.Malformation.TRUNCATED_IPV4;
import static io.hyperplane.packet.Malformation.TRUNCATED_L4;
import static io.hyperplane.packet.Malformation.TRUNCATED_VXLAN;
import static io.hyperplane.packet.Malformation.UNSUPPORTED_ETHERTYPE;
import static io.hyperplane.packet.Malformation.VXLAN_FLAGS;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every frame is decoded at a non-zero offset in a buffer that ends exactly where the frame
 * ends, so a read past the frame throws instead of passing silently.
 */
class FrameDecoderTest {
    private static final int AT = 17;
    private static final int IP = Frames.L3_OFFSET;

    private final FrameDecoder decoder = new FrameDecoder();

    private Malformation decode(byte[] frame) {
        return decode(frame, frame.length);
    }

    private Malformation decode(byte[] frame, int length) {
        ByteBuffer b = ByteBuffer.allocate(AT + length);
        b.put(AT, frame, 0, length);
        return decoder.decode(b, AT, length);
    }

    // ---- acceptance ----

    @Test
    void shouldAcceptTcpAndPointEveryFlyweightAtItsHeader() {
        Frames.Builder spec = Frames.tcp().vni(0xfe_dcba);

        assertThat(decode(spec.build())).isEqualTo(NONE);

        assertThat(decoder.offset()).isEqualTo(AT);
        assertThat(decoder.vxlan.offset()).isEqualTo(AT);
        assertThat(decoder.vxlan.vni()).isEqualTo(0xfe_dcba);
        assertThat(decoder.ethernet.offset()).isEqualTo(AT + FrameDecoder.ETHERNET_OFFSET);
        assertThat(decoder.ethernet.destination()).isEqualTo(spec.destinationMac);
        assertThat(decoder.ethernet.source()).isEqualTo(spec.sourceMac);
        assertThat(decoder.etherType()).isEqualTo(EthernetHeader.TYPE_IPV4);
        assertThat(decoder.ip.offset()).isEqualTo(AT + FrameDecoder.L3_OFFSET);
        assertThat(decoder.ip.source()).isEqualTo(spec.source);
        assertThat(decoder.ip.destination()).isEqualTo(spec.destination);
        assertThat(decoder.protocol()).isEqualTo(Ipv4Header.PROTOCOL_TCP);
        assertThat(decoder.l4Offset()).isEqualTo(AT + 42);
        assertThat(decoder.l4Length()).isEqualTo(spec.l4Length());
        assertThat(decoder.tcp.offset()).isEqualTo(AT + 42);
        assertThat(decoder.tcp.sourcePort()).isEqualTo(spec.sourcePort);
        assertThat(decoder.tcp.destinationPort()).isEqualTo(spec.destinationPort);
        assertThat(decoder.tcp.sequence()).isEqualTo(spec.sequence);
        assertThat(Checksums.transportValid(decoder.ip, decoder.l4Offset(), decoder.l4Length())).isTrue();
    }

    @Test
    void shouldAcceptUdp() {
        Frames.Builder spec = Frames.udp().sourcePort(VxlanHeader.UDP_PORT).destinationPort(53);

        assertThat(decode(spec.build())).isEqualTo(NONE);

        assertThat(decoder.protocol()).isEqualTo(Ipv4Header.PROTOCOL_UDP);
        assertThat(decoder.udp.offset()).isEqualTo(decoder.l4Offset()).isEqualTo(AT + 42);
        assertThat(decoder.udp.sourcePort()).isEqualTo(VxlanHeader.UDP_PORT);
        assertThat(decoder.udp.destinationPort()).isEqualTo(53);
        assertThat(decoder.udp.length()).isEqualTo(decoder.l4Length()).isEqualTo(spec.l4Length());
    }

    @Test
    void shouldAcceptIcmpEcho() {
        Frames.Builder spec = Frames.icmpEcho().icmp(IcmpHeader.ECHO_REPLY, 0, 0x7777, 9);

        assertThat(decode(spec.build())).isEqualTo(NONE);

        assertThat(decoder.protocol()).isEqualTo(Ipv4Header.PROTOCOL_ICMP);
        assertThat(decoder.icmp.offset()).isEqualTo(AT + 42);
        assertThat(decoder.icmp.isEcho()).isTrue();
        assertThat(decoder.icmp.type()).isEqualTo(IcmpHeader.ECHO_REPLY);
        assertThat(decoder.icmp.identifier()).isEqualTo(0x7777);
        assertThat(decoder.icmp.sequence()).isEqualTo(9);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 5, 10})
    void shouldAcceptIcmpErrorAndPointAtTheEmbeddedPorts(int embeddedOptionWords) {
        Frames.Builder spec = Frames.icmpError().icmp(IcmpHeader.DESTINATION_UNREACHABLE, 3, 0, 0)
                .embeddedProtocol(Ipv4Header.PROTOCOL_TCP).embeddedOptionWords(embeddedOptionWords);

        assertThat(decode(spec.build())).isEqualTo(NONE);
        assertThat(decoder.icmp.isError()).isTrue();
        assertThat(decoder.decodeIcmpError()).isEqualTo(NONE);

        assertThat(decoder.embeddedIp.offset()).isEqualTo(AT + spec.embeddedIpOffset());
        assertThat(decoder.embeddedIp.headerLength()).isEqualTo(20 + 4 * embeddedOptionWords);
        assertThat(decoder.embeddedIp.source()).isEqualTo(spec.destination);
        assertThat(decoder.embeddedIp.destination()).isEqualTo(spec.embeddedDestination);
        assertThat(decoder.embeddedIp.protocol()).isEqualTo(Ipv4Header.PROTOCOL_TCP);
        assertThat(decoder.embeddedL4Offset()).isEqualTo(AT + spec.embeddedL4Offset());
        ByteBuffer b = decoder.buffer();
        assertThat(b.getShort(decoder.embeddedL4Offset()) & 0xffff).isEqualTo(spec.embeddedSourcePort);
        assertThat(b.getShort(decoder.embeddedL4Offset() + 2) & 0xffff).isEqualTo(spec.embeddedDestinationPort);
        TcpHeader embeddedTcp = new TcpHeader().wrap(b, decoder.embeddedL4Offset());
        assertThat(embeddedTcp.sourcePort()).isEqualTo(spec.embeddedSourcePort);
    }

    @Test
    void shouldAcceptAnIcmpErrorQuotingExactlyEightBytes() {
        Frames.Builder spec = Frames.icmpError().embeddedL4Bytes(8);

        assertThat(decode(spec.build())).isEqualTo(NONE);
        assertThat(decoder.decodeIcmpError()).isEqualTo(NONE);
        assertThat(decoder.embeddedL4Offset() + 8).isEqualTo(decoder.l4Offset() + decoder.l4Length());
    }

    @Test
    void shouldAcceptArpRequestAndReply() {
        Frames.Builder request = Frames.arpRequest();
        assertThat(decode(request.build())).isEqualTo(NONE);
        assertThat(decoder.etherType()).isEqualTo(EthernetHeader.TYPE_ARP);
        assertThat(decoder.protocol()).isZero();
        assertThat(decoder.ethernet.destination()).isEqualTo(MacAddress.BROADCAST);
        assertThat(decoder.arp.offset()).isEqualTo(AT + Frames.L3_OFFSET);
        assertThat(decoder.arp.operation()).isEqualTo(ArpPacket.REQUEST);
        assertThat(decoder.arp.senderMac()).isEqualTo(request.sourceMac);
        assertThat(decoder.arp.senderIp()).isEqualTo(request.source);
        assertThat(decoder.arp.targetMac()).isZero();
        assertThat(decoder.arp.targetIp()).isEqualTo(request.destination);

        Frames.Builder reply = Frames.arpReply().targetMac(0x0200_0000_beefL);
        assertThat(decode(reply.build())).isEqualTo(NONE);
        assertThat(decoder.arp.operation()).isEqualTo(ArpPacket.REPLY);
        assertThat(decoder.arp.targetMac()).isEqualTo(0x0200_0000_beefL);
    }

    @ParameterizedTest
    @ValueSource(ints = {6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
    void shouldAcceptIpv4OptionsAndFindTheTransportHeaderAfterThem(int ihl) {
        Frames.Builder tcp = Frames.tcp().ipOptionWords(ihl - 5).sourcePort(1234).destinationPort(80);
        assertThat(decode(tcp.build())).isEqualTo(NONE);
        assertThat(decoder.ip.headerLength()).isEqualTo(4 * ihl);
        assertThat(decoder.l4Offset()).isEqualTo(AT + Frames.L3_OFFSET + 4 * ihl);
        assertThat(decoder.l4Length()).isEqualTo(tcp.l4Length());
        assertThat(decoder.tcp.sourcePort()).isEqualTo(1234);
        assertThat(decoder.tcp.destinationPort()).isEqualTo(80);

        Frames.Builder udp = Frames.udp().ipOptionWords(ihl - 5).sourcePort(4321).destinationPort(4789);
        assertThat(decode(udp.build())).isEqualTo(NONE);
        assertThat(decoder.l4Offset()).isEqualTo(AT + Frames.L3_OFFSET + 4 * ihl);
        assertThat(decoder.udp.sourcePort()).isEqualTo(4321);
        assertThat(decoder.udp.length()).isEqualTo(decoder.l4Length());
    }

    @Test
    void shouldIgnoreEthernetPaddingAfterTheIpv4TotalLength() {
        // A 1-byte UDP payload is padded up to the 60-byte Ethernet minimum.
        Frames.Builder spec = Frames.udp().payload(new byte[] {42}).padding(60 - 14 - 29);
        byte[] frame = spec.build();

        assertThat(decode(frame)).isEqualTo(NONE);

        assertThat(decoder.l4Length()).as("from the total length, not the frame length").isEqualTo(9);
        assertThat(decoder.l4Offset() + decoder.l4Length()).isEqualTo(AT + spec.packetEnd()).isLessThan(AT + frame.length);
        assertThat(Checksums.transportValid(decoder.ip, decoder.l4Offset(), decoder.l4Length())).isTrue();

        assertThat(decode(Frames.tcp().padding(7).build())).isEqualTo(NONE);
        assertThat(decoder.l4Length()).isEqualTo(Frames.tcp().l4Length());
        assertThat(decode(Frames.arpRequest().padding(18).build())).isEqualTo(NONE);
    }

    @Test
    void shouldLeaveOtherProtocolsToPolicy() {
        byte[] frame = Frames.udp().build();
        frame[IP + Ipv4Header.PROTOCOL_OFFSET] = 47; // GRE
        Frames.refillIpv4Checksum(frame);
        Arrays.fill(frame, 42, frame.length, (byte) 0);

        assertThat(decode(frame)).isEqualTo(NONE);
        assertThat(decoder.protocol()).isEqualTo(47);
        assertThat(decoder.l4Offset()).isEqualTo(AT + 42);
        assertThat(decoder.l4Length()).isEqualTo(frame.length - 42);

        byte[] empty = Arrays.copyOf(frame, 42);
        Frames.putU16(empty, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, 20);
        Frames.refillIpv4Checksum(empty);
        assertThat(decode(empty)).isEqualTo(NONE);
        assertThat(decoder.l4Length()).isZero();
    }

    @Test
    void shouldAcceptTheSmallestSegments() {
        assertThat(decode(Frames.tcp().payload(new byte[0]).build())).isEqualTo(NONE);
        assertThat(decoder.l4Length()).isEqualTo(TcpHeader.MIN_LENGTH);
        assertThat(decode(Frames.udp().payload(new byte[0]).build())).isEqualTo(NONE);
        assertThat(decoder.l4Length()).isEqualTo(UdpHeader.LENGTH);
        assertThat(decode(Frames.icmpEcho().payload(new byte[0]).build())).isEqualTo(NONE);
        assertThat(decoder.l4Length()).isEqualTo(IcmpHeader.LENGTH);
        assertThat(decode(Frames.tcp().tcpOptionWords(10).payload(new byte[0]).build()))
                .as("data offset equal to the segment length").isEqualTo(NONE);
    }

    @Test
    void shouldAcceptUdpLengthShorterThanTheIpPayload() {
        byte[] frame = Frames.udp().udpChecksum(false).build();
        Frames.putU16(frame, 42 + UdpHeader.LENGTH_OFFSET, 8);

        assertThat(decode(frame)).isEqualTo(NONE);
    }

    @Test
    void shouldForgetThePreviousFrame() {
        assertThat(decode(Frames.tcp().build())).isEqualTo(NONE);
        assertThat(decode(Frames.arpReply().build())).isEqualTo(NONE);
        assertThat(decoder.protocol()).isZero();
        assertThat(decoder.etherType()).isEqualTo(EthernetHeader.TYPE_ARP);

        assertThat(decode(new byte[5])).isEqualTo(TRUNCATED_VXLAN);
        assertThat(decoder.etherType()).isZero();
        assertThat(decoder.offset()).isEqualTo(AT);
    }

    @Test
    void shouldIgnoreReservedVxlanBits() {
        byte[] frame = Frames.udp().build();
        frame[0] = (byte) 0xff;
        frame[1] = frame[2] = frame[3] = frame[7] = (byte) 0xff;

        assertThat(decode(frame)).isEqualTo(NONE);
    }

    // ---- truncation ----

    static Stream<Arguments> frames() {
        return Stream.of(
                Frames.tcp(), Frames.tcp().ipOptionWords(10).tcpOptionWords(10), Frames.tcp().payload(new byte[0]),
                Frames.udp(), Frames.udp().ipOptionWords(1).payload(new byte[1]), Frames.udp().payload(new byte[0]),
                Frames.icmpEcho(), Frames.icmpEcho().ipOptionWords(4),
                Frames.icmpError(), Frames.icmpError().ipOptionWords(2).embeddedOptionWords(2).embeddedL4Bytes(20),
                Frames.arpRequest(), Frames.arpReply(),
                Frames.tcp().padding(6), Frames.udp().padding(20), Frames.icmpError().padding(1),
                Frames.arpRequest().padding(18))
                .map(spec -> Arguments.of(spec.kind + " ip options " + spec.ipOptions.length + " padding "
                        + spec.padding + " length " + spec.length(), spec));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frames")
    void shouldRejectEveryPrefixThatIsNotAWholePacket(String name, Frames.Builder spec) {
        byte[] frame = spec.build();
        for (int length = 0; length <= frame.length; length++) {
            Malformation result = decode(frame, length);

            assertThat(result).as("%s cut to %d bytes", name, length).isEqualTo(expectedForPrefix(spec, length));
            if (length < spec.packetEnd()) {
                assertThat(result).as("a strict prefix of the packet lies about its length").isNotEqualTo(NONE);
            }
            if (result == NONE && spec.kind == Frames.Kind.ICMP_ERROR) {
                assertThat(decoder.decodeIcmpError()).isEqualTo(NONE);
            }
        }
    }

    private static Malformation expectedForPrefix(Frames.Builder spec, int length) {
        if (length < Frames.L3_OFFSET) {
            return TRUNCATED_VXLAN;
        }
        int available = length - Frames.L3_OFFSET;
        if (spec.isArp()) {
            return available < ArpPacket.LENGTH ? TRUNCATED_ARP : NONE;
        }
        if (available < spec.ipHeaderLength()) {
            return TRUNCATED_IPV4;
        }
        return available < spec.ipTotalLength() ? BAD_TOTAL_LENGTH : NONE;
    }

    @Test
    void shouldRejectIcmpErrorsCutInsideTheEmbeddedDatagram() {
        Frames.Builder spec = Frames.icmpError().embeddedOptionWords(3).embeddedL4Bytes(8);
        byte[] full = spec.build();
        int embeddedNeeded = spec.embeddedIpHeaderLength() + 8;
        for (int icmpLength = IcmpHeader.LENGTH; icmpLength <= spec.l4Length(); icmpLength++) {
            byte[] frame = Arrays.copyOf(full, spec.l4Offset() + icmpLength);
            Frames.putU16(frame, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, spec.ipHeaderLength() + icmpLength);
            Frames.refillIpv4Checksum(frame);

            assertThat(decode(frame)).as("ICMP length %d", icmpLength).isEqualTo(NONE);
            assertThat(decoder.decodeIcmpError()).as("ICMP length %d", icmpLength)
                    .isEqualTo(icmpLength - IcmpHeader.LENGTH < embeddedNeeded ? BAD_EMBEDDED : NONE);
        }
    }

    // ---- rejections ----

    @ParameterizedTest
    @ValueSource(ints = {0x00, 0xf7, 0x80, 0x04})
    void shouldRejectVxlanWithoutTheIFlag(int flags) {
        byte[] frame = Frames.tcp().build();
        frame[0] = (byte) flags;

        assertThat(decode(frame)).isEqualTo(VXLAN_FLAGS);
    }

    @Test
    void shouldRejectIpv6() {
        byte[] frame = Frames.tcp().build();
        Frames.putU16(frame, Frames.ETHER_TYPE_OFFSET, EthernetHeader.TYPE_IPV6);

        assertThat(decode(frame)).isEqualTo(IPV6);
    }

    @ParameterizedTest
    @ValueSource(ints = {EthernetHeader.TYPE_VLAN, 0x88a8, 0x88cc, 0x0000, 0xffff, 0x0801, 0x0805, 0x8035})
    void shouldRejectVlanTagsAndUnknownEtherTypes(int etherType) {
        byte[] frame = Frames.tcp().build();
        Frames.putU16(frame, Frames.ETHER_TYPE_OFFSET, etherType);

        assertThat(decode(frame)).isEqualTo(UNSUPPORTED_ETHERTYPE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"htype:0:6", "htype:0:0", "ptype:2:0x86dd", "hlen:4:8", "plen:5:16", "plen:5:0"})
    void shouldRejectArpOtherThanIpv4OverEthernet(String field) {
        String[] parts = field.split(":");
        int at = IP + Integer.parseInt(parts[1]);
        int value = Integer.decode(parts[2]);
        byte[] frame = Frames.arpRequest().build();
        if (parts[0].endsWith("type")) {
            Frames.putU16(frame, at, value);
        } else {
            frame[at] = (byte) value;
        }

        assertThat(decode(frame)).as(parts[0]).isEqualTo(BAD_ARP);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 5, 6, 15})
    void shouldRejectAnotherIpVersionUnderTheIpv4EtherType(int version) {
        byte[] frame = Frames.tcp().build();
        frame[IP] = (byte) (version << 4 | 5);
        Frames.refillIpv4Checksum(frame);

        assertThat(decode(frame)).isEqualTo(BAD_IP_VERSION);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void shouldRejectIhlBelowFive(int ihl) {
        byte[] frame = Frames.tcp().build();
        frame[IP] = (byte) (0x40 | ihl);

        assertThat(decode(frame)).isEqualTo(BAD_IHL);
    }

    @Test
    void shouldRejectIhlPastTheFrame() {
        byte[] frame = Frames.udp().payload(new byte[0]).build(); // 28 bytes of IPv4
        frame[IP] = 0x48;
        assertThat(decode(frame)).isEqualTo(TRUNCATED_IPV4);

        frame[IP] = 0x4f;
        assertThat(decode(frame)).isEqualTo(TRUNCATED_IPV4);
    }

    @Test
    void shouldRejectTotalLengthShorterThanTheHeader() {
        byte[] frame = Frames.tcp().build();
        for (int total : new int[] {0, 1, 19}) {
            Frames.putU16(frame, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, total);
            Frames.refillIpv4Checksum(frame);
            assertThat(decode(frame)).as("total length %d", total).isEqualTo(BAD_TOTAL_LENGTH);
        }

        byte[] withOptions = Frames.tcp().ipOptionWords(1).build();
        Frames.putU16(withOptions, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, 23);
        Frames.refillIpv4Checksum(withOptions);
        assertThat(decode(withOptions)).isEqualTo(BAD_TOTAL_LENGTH);
    }

    @Test
    void shouldRejectTotalLengthLongerThanTheFrame() {
        Frames.Builder spec = Frames.tcp();
        byte[] frame = spec.build();
        for (int total : new int[] {spec.ipTotalLength() + 1, spec.ipTotalLength() + 100, 0xffff}) {
            Frames.putU16(frame, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, total);
            Frames.refillIpv4Checksum(frame);
            assertThat(decode(frame)).as("total length %d", total).isEqualTo(BAD_TOTAL_LENGTH);
        }
    }

    @Test
    void shouldRejectABadHeaderChecksum() {
        byte[] frame = Frames.tcp().ipOptionWords(2).build();
        frame[IP + Ipv4Header.CHECKSUM_OFFSET] ^= 0x10;
        assertThat(decode(frame)).isEqualTo(BAD_IP_CHECKSUM);

        frame = Frames.tcp().ipOptionWords(2).build();
        frame[IP + Ipv4Header.TTL_OFFSET]--;
        assertThat(decode(frame)).as("TTL decremented without updating the checksum").isEqualTo(BAD_IP_CHECKSUM);

        frame = Frames.tcp().ipOptionWords(2).build();
        frame[IP + 27] ^= 0x01;
        assertThat(decode(frame)).as("the checksum covers the options").isEqualTo(BAD_IP_CHECKSUM);
    }

    @ParameterizedTest
    @ValueSource(ints = {0x2000, 0x6000, 0x0001, 0x4001, 0x1fff, 0x3fff, 0x00b9})
    void shouldRejectFragments(int flagsAndOffset) {
        byte[] frame = Frames.udp().flagsAndFragment(flagsAndOffset).build();

        assertThat(decode(frame)).isEqualTo(FRAGMENT);
    }

    @ParameterizedTest
    @ValueSource(ints = {0x0000, 0x4000, 0x8000})
    void shouldAcceptUnfragmentedPacketsWhateverTheOtherFlags(int flags) {
        assertThat(decode(Frames.udp().flagsAndFragment(flags).build())).isEqualTo(NONE);
    }

    @ParameterizedTest
    @MethodSource("shortTransports")
    void shouldRejectTransportHeadersCutShortByTheTotalLength(Frames.Builder spec, int l4Length) {
        byte[] frame = spec.build();
        Frames.putU16(frame, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, spec.ipHeaderLength() + l4Length);
        Frames.refillIpv4Checksum(frame);

        assertThat(decode(frame)).as("%s with %d transport bytes", spec.kind, l4Length).isEqualTo(TRUNCATED_L4);
    }

    static Stream<Arguments> shortTransports() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (int l4 = 0; l4 < 20; l4++) {
            cases.add(Arguments.of(Frames.tcp(), l4));
        }
        for (int l4 = 0; l4 < 8; l4++) {
            cases.add(Arguments.of(Frames.udp(), l4));
            cases.add(Arguments.of(Frames.icmpEcho(), l4));
            cases.add(Arguments.of(Frames.icmpError().ipOptionWords(1), l4));
        }
        return cases.build();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void shouldRejectTcpDataOffsetBelowFive(int dataOffset) {
        Frames.Builder spec = Frames.tcp();
        byte[] frame = spec.build();
        frame[spec.l4Offset() + TcpHeader.DATA_OFFSET_OFFSET] = (byte) (dataOffset << 4);

        assertThat(decode(frame)).isEqualTo(BAD_TCP_OFFSET);
    }

    @Test
    void shouldRejectTcpDataOffsetPastTheSegment() {
        Frames.Builder bare = Frames.tcp().payload(new byte[0]);
        byte[] frame = bare.build();
        frame[bare.l4Offset() + TcpHeader.DATA_OFFSET_OFFSET] = (byte) (6 << 4);
        assertThat(decode(frame)).isEqualTo(BAD_TCP_OFFSET);

        Frames.Builder small = Frames.tcp().payload(new byte[19]);
        frame = small.build();
        frame[small.l4Offset() + TcpHeader.DATA_OFFSET_OFFSET] = (byte) (15 << 4);
        assertThat(decode(frame)).isEqualTo(BAD_TCP_OFFSET);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7})
    void shouldRejectUdpLengthBelowEight(int udpLength) {
        Frames.Builder spec = Frames.udp();
        byte[] frame = spec.build();
        Frames.putU16(frame, spec.l4Offset() + UdpHeader.LENGTH_OFFSET, udpLength);

        assertThat(decode(frame)).isEqualTo(BAD_UDP_LENGTH);
    }

    @Test
    void shouldRejectUdpLengthPastTheDatagram() {
        Frames.Builder spec = Frames.udp().padding(40);
        for (int udpLength : new int[] {spec.l4Length() + 1, spec.l4Length() + 40, 0xffff}) {
            byte[] frame = spec.build();
            Frames.putU16(frame, spec.l4Offset() + UdpHeader.LENGTH_OFFSET, udpLength);
            assertThat(decode(frame)).as("UDP length %d, padding does not count", udpLength).isEqualTo(BAD_UDP_LENGTH);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4, 7})
    void shouldRejectIcmpErrorsQuotingLessThanEightBytes(int quoted) {
        assertThat(decode(Frames.icmpError().embeddedL4Bytes(quoted).build())).isEqualTo(NONE);
        assertThat(decoder.decodeIcmpError()).isEqualTo(BAD_EMBEDDED);

        assertThat(decode(Frames.icmpError().embeddedOptionWords(4).embeddedL4Bytes(quoted).build())).isEqualTo(NONE);
        assertThat(decoder.decodeIcmpError()).isEqualTo(BAD_EMBEDDED);
    }

    @Test
    void shouldRejectIcmpErrorsWithABrokenEmbeddedHeader() {
        Frames.Builder spec = Frames.icmpError().embeddedL4Bytes(12);
        int embedded = spec.embeddedIpOffset();

        byte[] frame = spec.build();
        frame[embedded] = 0x65;
        assertThat(decode(frame)).isEqualTo(NONE);
        assertThat(decoder.decodeIcmpError()).as("embedded version 6").isEqualTo(BAD_EMBEDDED);

        frame[embedded] = 0x44;
        decode(frame);
        assertThat(decoder.decodeIcmpError()).as("embedded IHL 4").isEqualTo(BAD_EMBEDDED);

        frame[embedded] = 0x46;
        decode(frame);
        assertThat(decoder.decodeIcmpError()).as("embedded IHL 6 leaves 8 quoted bytes").isEqualTo(NONE);
        assertThat(decoder.embeddedL4Offset()).isEqualTo(AT + embedded + 24);

        frame[embedded] = 0x47;
        decode(frame);
        assertThat(decoder.decodeIcmpError()).as("embedded IHL 7 leaves 4 quoted bytes").isEqualTo(BAD_EMBEDDED);

        frame[embedded] = 0x4f;
        decode(frame);
        assertThat(decoder.decodeIcmpError()).as("embedded IHL past the message").isEqualTo(BAD_EMBEDDED);
    }

    @Test
    void shouldRejectAnIcmpErrorWithNothingEmbedded() {
        byte[] frame = Frames.icmpEcho().payload(new byte[0]).icmp(IcmpHeader.TIME_EXCEEDED, 0, 0, 0).build();

        assertThat(decode(frame)).isEqualTo(NONE);
        assertThat(decoder.icmp.isError()).isTrue();
        assertThat(decoder.decodeIcmpError()).isEqualTo(BAD_EMBEDDED);
    }
}
