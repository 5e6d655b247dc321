package io.hyperplane.packet;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Builds valid VXLAN payloads (VXLAN header, inner Ethernet frame) byte by byte, without the
 * flyweights or {@link Checksums} under test. Checksums come from {@link #referenceSum}, a
 * deliberately naive byte-at-a-time RFC 1071 sum, so a bug in the production sum cannot cancel
 * itself out in a test.
 * <pre>
 *  0       8              22                     l4Offset()
 *  | VXLAN | Ethernet II  | IPv4 (20 + options)  | TCP / UDP / ICMP | payload | padding |
 *  |       |              | ARP (28)             | padding |
 *  ICMP error body:  | ICMP (8) | embedded IPv4 (20 + options) | first embeddedL4Bytes of its L4 |
 * </pre>
 * Every offset a builder reports is relative to the start of the VXLAN header.
 */
final class Frames {
    static final int ETHERNET_OFFSET = 8;
    static final int ETHER_TYPE_OFFSET = 20;
    static final int L3_OFFSET = 22;
    static final int ARP_LENGTH = 28;

    enum Kind { TCP, UDP, ICMP_ECHO, ICMP_ERROR, ARP_REQUEST, ARP_REPLY }

    private Frames() {
    }

    static Builder tcp() {
        return new Builder(Kind.TCP);
    }

    static Builder udp() {
        return new Builder(Kind.UDP);
    }

    static Builder icmpEcho() {
        return new Builder(Kind.ICMP_ECHO);
    }

    static Builder icmpError() {
        return new Builder(Kind.ICMP_ERROR);
    }

    static Builder arpRequest() {
        return new Builder(Kind.ARP_REQUEST);
    }

    static Builder arpReply() {
        return new Builder(Kind.ARP_REPLY);
    }

    static Builder of(Kind kind) {
        return new Builder(kind);
    }

    /** A valid frame of {@code kind} with every field, option count and size drawn from {@code random}. */
    static Builder random(SplittableRandom random, Kind kind) {
        Builder b = new Builder(kind)
                .vni(random.nextInt(VxlanHeader.MAX_VNI + 1))
                .sourceMac(random.nextLong() & 0xfeff_ffff_ffffL)
                .destinationMac(random.nextLong() & 0xfeff_ffff_ffffL)
                .source(random.nextInt())
                .destination(random.nextInt())
                .tos(random.nextInt(256))
                .identification(random.nextInt(0x1_0000))
                .ttl(1 + random.nextInt(255))
                .flagsAndFragment(random.nextBoolean() ? Ipv4Header.FLAG_DONT_FRAGMENT : 0)
                .sourcePort(random.nextInt(0x1_0000))
                .destinationPort(random.nextInt(0x1_0000));
        if (random.nextBoolean()) {
            byte[] options = new byte[4 * (1 + random.nextInt(10))];
            random.nextBytes(options);
            b.ipOptions(options);
        }
        b.sequence(random.nextInt()).acknowledgment(random.nextInt()).tcpFlags(random.nextInt(256))
                .window(random.nextInt(0x1_0000));
        if (random.nextBoolean()) {
            b.tcpOptionWords(1 + random.nextInt(10));
        }
        b.udpChecksum(random.nextInt(8) != 0);
        byte[] payload = new byte[random.nextInt(4) == 0 ? 0 : random.nextInt(256)];
        random.nextBytes(payload);
        b.payload(payload);
        switch (kind) {
            case ICMP_ECHO -> b.icmp(random.nextBoolean() ? IcmpHeader.ECHO_REQUEST : IcmpHeader.ECHO_REPLY, 0,
                    random.nextInt(0x1_0000), random.nextInt(0x1_0000));
            case ICMP_ERROR -> {
                int[] types = {IcmpHeader.DESTINATION_UNREACHABLE, IcmpHeader.TIME_EXCEEDED, IcmpHeader.PARAMETER_PROBLEM};
                b.icmp(types[random.nextInt(types.length)], random.nextInt(16), 0, 0)
                        .embeddedProtocol(random.nextBoolean() ? Ipv4Header.PROTOCOL_TCP : Ipv4Header.PROTOCOL_UDP)
                        .embeddedOptionWords(random.nextInt(3) == 0 ? random.nextInt(11) : 0)
                        .embeddedL4Bytes(8 + random.nextInt(33))
                        .embeddedDestination(random.nextInt())
                        .payload(new byte[0]);
            }
            case ARP_REPLY -> b.targetMac(random.nextLong() & 0xfeff_ffff_ffffL);
            default -> {
            }
        }
        if (random.nextInt(4) == 0) {
            b.padding(1 + random.nextInt(46));
        }
        return b;
    }

    static Builder random(SplittableRandom random) {
        Kind[] kinds = Kind.values();
        return random(random, kinds[random.nextInt(kinds.length)]);
    }

    /**
     * RFC 1071 one's-complement sum, one byte at a time (even bytes high, odd bytes low), folded to
     * 16 bits. Intentionally written differently from {@link Checksums#sum}.
     */
    static int referenceSum(ByteBuffer bytes, int from, int length, long initial) {
        long sum = initial;
        for (int i = 0; i < length; i++) {
            int octet = bytes.get(from + i) & 0xff;
            sum += (i & 1) == 0 ? octet << 8 : octet;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    static int referenceSum(byte[] bytes, int from, int length, long initial) {
        return referenceSum(ByteBuffer.wrap(bytes), from, length, initial);
    }

    /** The value a checksum field should hold for these bytes (summed with the field zeroed). */
    static int referenceChecksum(ByteBuffer bytes, int from, int length, long initial) {
        return ~referenceSum(bytes, from, length, initial) & 0xffff;
    }

    /** Pseudo-header sum (RFC 793 §3.1, RFC 768) built from a 12-byte pseudo-header array. */
    static int referencePseudoHeaderSum(int source, int destination, int protocol, int l4Length) {
        ByteBuffer pseudo = ByteBuffer.allocate(12);
        pseudo.putInt(0, source).putInt(4, destination).put(8, (byte) 0).put(9, (byte) protocol)
                .putShort(10, (short) l4Length);
        return referenceSum(pseudo, 0, 12, 0);
    }

    /** True when the IPv4 header at {@code ip} sums (checksum included) to all ones. */
    static boolean ipv4ChecksumValid(ByteBuffer b, int ip) {
        int headerLength = (b.get(ip) & 0x0f) * 4;
        return referenceSum(b, ip, headerLength, 0) == 0xffff;
    }

    /** True when the TCP/UDP segment after the IPv4 header at {@code ip} sums to all ones. */
    static boolean transportChecksumValid(ByteBuffer b, int ip) {
        int headerLength = (b.get(ip) & 0x0f) * 4;
        int l4Length = (b.getShort(ip + 2) & 0xffff) - headerLength;
        int pseudo = referencePseudoHeaderSum(b.getInt(ip + 12), b.getInt(ip + 16), b.get(ip + 9) & 0xff, l4Length);
        return referenceSum(b, ip + headerLength, l4Length, pseudo) == 0xffff;
    }

    /** Recomputes the IPv4 header checksum at {@code ip}, after a test changed a header field on purpose. */
    static void refillIpv4Checksum(ByteBuffer b, int ip) {
        int headerLength = (b.get(ip) & 0x0f) * 4;
        b.putShort(ip + 10, (short) 0);
        b.putShort(ip + 10, (short) referenceChecksum(b, ip, headerLength, 0));
    }

    static void refillIpv4Checksum(byte[] frame) {
        refillIpv4Checksum(ByteBuffer.wrap(frame), L3_OFFSET);
    }

    static final byte SENTINEL = (byte) 0xa5;

    /** A buffer full of {@link #SENTINEL}, so a test can see which bytes a writer touched. */
    static ByteBuffer sentinelBuffer(int capacity) {
        ByteBuffer b = ByteBuffer.allocate(capacity);
        Arrays.fill(b.array(), SENTINEL);
        return b;
    }

    /** Index of the first byte outside [from, to) that is no longer {@link #SENTINEL}, or -1. */
    static int firstTouchedOutside(ByteBuffer b, int from, int to) {
        for (int i = 0; i < b.capacity(); i++) {
            if ((i < from || i >= to) && b.get(i) != SENTINEL) {
                return i;
            }
        }
        return -1;
    }

    static void putU16(byte[] frame, int at, int value) {
        frame[at] = (byte) (value >>> 8);
        frame[at + 1] = (byte) value;
    }

    static int u16(byte[] frame, int at) {
        return (frame[at] & 0xff) << 8 | frame[at + 1] & 0xff;
    }

    /** Fluent description of one frame; {@link #build} writes it, the layout methods say where things are. */
    static final class Builder {
        final Kind kind;
        int vni = 0x00_1234;
        long destinationMac = 0x02_00_0a_00_02_09L;
        long sourceMac = 0x02_00_0a_00_01_05L;
        long targetMac;
        int source = 0x0a_00_01_05;
        int destination = 0x0a_00_02_09;
        int tos;
        int identification = 0x1c46;
        int ttl = 64;
        int flagsAndFragment = Ipv4Header.FLAG_DONT_FRAGMENT;
        byte[] ipOptions = new byte[0];
        int sourcePort = 49_152;
        int destinationPort = 443;
        int sequence = 0x1234_5678;
        int acknowledgment = 0x9abc_def0;
        int tcpFlags = TcpHeader.ACK | TcpHeader.PSH;
        int window = 65_535;
        int tcpOptionWords;
        boolean udpChecksum = true;
        int icmpType;
        int icmpCode;
        int icmpIdentifier = 0x0b0b;
        int icmpSequence = 1;
        int embeddedProtocol = Ipv4Header.PROTOCOL_UDP;
        int embeddedOptionWords;
        int embeddedL4Bytes = 8;
        int embeddedDestination = 0xc6_33_64_07;
        int embeddedSourcePort = 33_434;
        int embeddedDestinationPort = 53;
        byte[] payload = new byte[0];
        int padding;

        Builder(Kind kind) {
            this.kind = kind;
            switch (kind) {
                case ICMP_ECHO -> icmpType = IcmpHeader.ECHO_REQUEST;
                case ICMP_ERROR -> {
                    icmpType = IcmpHeader.TIME_EXCEEDED;
                    icmpIdentifier = 0;
                    icmpSequence = 0;
                }
                case ARP_REQUEST -> destinationMac = MacAddress.BROADCAST;
                case ARP_REPLY -> targetMac = destinationMac;
                default -> {
                }
            }
            if (kind == Kind.TCP || kind == Kind.UDP || kind == Kind.ICMP_ECHO) {
                payload = "hello, hyperplane".getBytes(StandardCharsets.US_ASCII);
            }
        }

        Builder vni(int v) { vni = v; return this; }
        Builder sourceMac(long v) { sourceMac = v; return this; }
        Builder destinationMac(long v) { destinationMac = v; return this; }
        Builder targetMac(long v) { targetMac = v; return this; }
        Builder source(int v) { source = v; return this; }
        Builder destination(int v) { destination = v; return this; }
        Builder tos(int v) { tos = v; return this; }
        Builder identification(int v) { identification = v; return this; }
        Builder ttl(int v) { ttl = v; return this; }
        Builder flagsAndFragment(int v) { flagsAndFragment = v; return this; }
        Builder sourcePort(int v) { sourcePort = v; return this; }
        Builder destinationPort(int v) { destinationPort = v; return this; }
        Builder sequence(int v) { sequence = v; return this; }
        Builder acknowledgment(int v) { acknowledgment = v; return this; }
        Builder tcpFlags(int v) { tcpFlags = v; return this; }
        Builder window(int v) { window = v; return this; }
        Builder tcpOptionWords(int v) { tcpOptionWords = v; return this; }
        Builder udpChecksum(boolean v) { udpChecksum = v; return this; }
        Builder embeddedProtocol(int v) { embeddedProtocol = v; return this; }
        Builder embeddedOptionWords(int v) { embeddedOptionWords = v; return this; }
        Builder embeddedL4Bytes(int v) { embeddedL4Bytes = v; return this; }
        Builder embeddedDestination(int v) { embeddedDestination = v; return this; }
        Builder payload(byte[] v) { payload = v.clone(); return this; }
        Builder padding(int v) { padding = v; return this; }

        Builder icmp(int type, int code, int identifier, int sequence) {
            icmpType = type;
            icmpCode = code;
            icmpIdentifier = identifier;
            icmpSequence = sequence;
            return this;
        }

        /** IPv4 options as given; their length must be a multiple of 4, at most 40. */
        Builder ipOptions(byte[] options) {
            ipOptions = options.clone();
            return this;
        }

        /** {@code words} 32-bit words of NOP options (RFC 791 option type 1). */
        Builder ipOptionWords(int words) {
            ipOptions = new byte[4 * words];
            Arrays.fill(ipOptions, (byte) 1);
            return this;
        }

        boolean isArp() {
            return kind == Kind.ARP_REQUEST || kind == Kind.ARP_REPLY;
        }

        int etherType() {
            return isArp() ? EthernetHeader.TYPE_ARP : EthernetHeader.TYPE_IPV4;
        }

        int protocol() {
            return switch (kind) {
                case TCP -> Ipv4Header.PROTOCOL_TCP;
                case UDP -> Ipv4Header.PROTOCOL_UDP;
                case ICMP_ECHO, ICMP_ERROR -> Ipv4Header.PROTOCOL_ICMP;
                default -> 0;
            };
        }

        int ipHeaderLength() {
            return Ipv4Header.MIN_LENGTH + ipOptions.length;
        }

        int l4Offset() {
            return L3_OFFSET + ipHeaderLength();
        }

        int tcpHeaderLength() {
            return TcpHeader.MIN_LENGTH + 4 * tcpOptionWords;
        }

        int embeddedIpHeaderLength() {
            return Ipv4Header.MIN_LENGTH + 4 * embeddedOptionWords;
        }

        int embeddedIpOffset() {
            return l4Offset() + IcmpHeader.EMBEDDED_OFFSET;
        }

        int embeddedL4Offset() {
            return embeddedIpOffset() + embeddedIpHeaderLength();
        }

        int l4HeaderLength() {
            return switch (kind) {
                case TCP -> tcpHeaderLength();
                case UDP -> UdpHeader.LENGTH;
                case ICMP_ECHO -> IcmpHeader.LENGTH;
                case ICMP_ERROR -> IcmpHeader.LENGTH + embeddedIpHeaderLength() + embeddedL4Bytes;
                default -> 0;
            };
        }

        int l4Length() {
            return l4HeaderLength() + payload.length;
        }

        int ipTotalLength() {
            return ipHeaderLength() + l4Length();
        }

        /** Where the packet ends by its own length fields; {@link #padding} follows. */
        int packetEnd() {
            return isArp() ? L3_OFFSET + ARP_LENGTH : L3_OFFSET + ipTotalLength();
        }

        int length() {
            return packetEnd() + padding;
        }

        byte[] build() {
            byte[] frame = new byte[length()];
            ByteBuffer b = ByteBuffer.wrap(frame);
            b.putInt(0, 0x08 << 24).putInt(4, vni << 8);
            b.putShort(8, (short) (destinationMac >>> 32)).putInt(10, (int) destinationMac);
            b.putShort(14, (short) (sourceMac >>> 32)).putInt(16, (int) sourceMac);
            b.putShort(ETHER_TYPE_OFFSET, (short) etherType());
            if (isArp()) {
                writeArp(b, L3_OFFSET);
            } else {
                writeIpv4(b, L3_OFFSET, ipOptions, ipTotalLength(), protocol(), source, destination);
                writeL4(b, l4Offset());
            }
            for (int i = packetEnd(); i < frame.length; i++) {
                frame[i] = (byte) 0xee; // padding content is arbitrary; make it visible
            }
            return frame;
        }

        /** {@link #build} copied to {@code at} in a buffer whose limit is exactly the frame's end. */
        ByteBuffer buildAt(int at) {
            byte[] frame = build();
            ByteBuffer b = ByteBuffer.allocate(at + frame.length);
            for (int i = 0; i < at; i++) {
                b.put(i, (byte) 0x5a);
            }
            b.put(at, frame);
            return b;
        }

        private void writeArp(ByteBuffer b, int at) {
            b.putShort(at, (short) 1).putShort(at + 2, (short) 0x0800).put(at + 4, (byte) 6).put(at + 5, (byte) 4);
            b.putShort(at + 6, (short) (kind == Kind.ARP_REQUEST ? 1 : 2));
            b.putShort(at + 8, (short) (sourceMac >>> 32)).putInt(at + 10, (int) sourceMac).putInt(at + 14, source);
            b.putShort(at + 18, (short) (targetMac >>> 32)).putInt(at + 20, (int) targetMac).putInt(at + 24, destination);
        }

        private void writeIpv4(ByteBuffer b, int at, byte[] options, int totalLength, int proto, int src, int dst) {
            b.put(at, (byte) (0x40 | (5 + options.length / 4)));
            b.put(at + 1, (byte) tos);
            b.putShort(at + 2, (short) totalLength);
            b.putShort(at + 4, (short) identification);
            b.putShort(at + 6, (short) flagsAndFragment);
            b.put(at + 8, (byte) ttl);
            b.put(at + 9, (byte) proto);
            b.putShort(at + 10, (short) 0);
            b.putInt(at + 12, src);
            b.putInt(at + 16, dst);
            b.put(at + 20, options);
            b.putShort(at + 10, (short) referenceChecksum(b, at, 20 + options.length, 0));
        }

        private void writeL4(ByteBuffer b, int at) {
            switch (kind) {
                case TCP -> {
                    b.putShort(at, (short) sourcePort).putShort(at + 2, (short) destinationPort);
                    b.putInt(at + 4, sequence).putInt(at + 8, acknowledgment);
                    b.put(at + 12, (byte) ((5 + tcpOptionWords) << 4)).put(at + 13, (byte) tcpFlags);
                    b.putShort(at + 14, (short) window);
                    for (int i = 20; i < tcpHeaderLength(); i++) {
                        b.put(at + i, (byte) 1); // NOP (RFC 9293 §3.1)
                    }
                    b.put(at + tcpHeaderLength(), payload);
                    int pseudo = referencePseudoHeaderSum(source, destination, Ipv4Header.PROTOCOL_TCP, l4Length());
                    b.putShort(at + 16, (short) referenceChecksum(b, at, l4Length(), pseudo));
                }
                case UDP -> {
                    b.putShort(at, (short) sourcePort).putShort(at + 2, (short) destinationPort);
                    b.putShort(at + 4, (short) l4Length());
                    b.put(at + 8, payload);
                    if (udpChecksum) {
                        int pseudo = referencePseudoHeaderSum(source, destination, Ipv4Header.PROTOCOL_UDP, l4Length());
                        int checksum = referenceChecksum(b, at, l4Length(), pseudo);
                        b.putShort(at + 6, (short) (checksum == 0 ? 0xffff : checksum)); // RFC 768
                    }
                }
                case ICMP_ECHO, ICMP_ERROR -> {
                    b.put(at, (byte) icmpType).put(at + 1, (byte) icmpCode);
                    b.putShort(at + 4, (short) icmpIdentifier).putShort(at + 6, (short) icmpSequence);
                    int body = at + IcmpHeader.LENGTH;
                    if (kind == Kind.ICMP_ERROR) {
                        writeEmbedded(b, body);
                        body += embeddedIpHeaderLength() + embeddedL4Bytes;
                    }
                    b.put(body, payload);
                    b.putShort(at + 2, (short) referenceChecksum(b, at, l4Length(), 0));
                }
                default -> throw new IllegalStateException(kind.toString());
            }
        }

        /** The offending datagram as RFC 792 quotes it: sent by our destination, cut after embeddedL4Bytes. */
        private void writeEmbedded(ByteBuffer b, int at) {
            byte[] options = new byte[4 * embeddedOptionWords];
            Arrays.fill(options, (byte) 1);
            int originalL4Length = Math.max(embeddedL4Bytes, 8) + 512;
            writeIpv4(b, at, options, options.length + 20 + originalL4Length, embeddedProtocol, destination,
                    embeddedDestination);
            byte[] l4 = new byte[Math.max(embeddedL4Bytes, 8)];
            ByteBuffer original = ByteBuffer.wrap(l4);
            original.putShort(0, (short) embeddedSourcePort).putShort(2, (short) embeddedDestinationPort);
            if (embeddedProtocol == Ipv4Header.PROTOCOL_UDP) {
                original.putShort(4, (short) originalL4Length).putShort(6, (short) 0x1d2e);
            } else {
                original.putInt(4, 0x0600_d5ee);
            }
            for (int i = 8; i < l4.length; i++) {
                l4[i] = (byte) i;
            }
            b.put(at + options.length + 20, l4, 0, embeddedL4Bytes);
        }
    }
}
