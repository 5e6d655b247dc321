package io.hyperplane.packet;

import java.nio.ByteBuffer;

/**
 * Validates one VXLAN datagram payload (the UDP payload: VXLAN header, inner Ethernet frame) and
 * points its flyweights at the headers found. Reusable and allocation free: one instance per
 * forwarding thread, {@link #decode} per packet.
 * <pre>
 *  offset
 *  |<- 8 ->|<---- 14 ---->|<-- IHL -->|<-- L4 header -->|
 *  | VXLAN | Ethernet II  | IPv4      | TCP / UDP / ICMP | payload ... | padding |
 *                         | ARP (28)  |
 *  l3Offset ------------->^           ^<------------- l4Offset
 *  frame bytes past the IPv4 total length (Ethernet padding) are ignored
 * </pre>
 * Accepted: ARP for IPv4 over Ethernet; IPv4 with or without options, unfragmented, with a valid
 * header checksum and consistent lengths. Transport checksums are not verified, as routers do
 * not verify them; rewrites update them incrementally so corruption stays detectable.
 */
public final class FrameDecoder {
    public static final int ETHERNET_OFFSET = VxlanHeader.LENGTH;
    public static final int L3_OFFSET = VxlanHeader.LENGTH + EthernetHeader.LENGTH;

    public final VxlanHeader vxlan = new VxlanHeader();
    public final EthernetHeader ethernet = new EthernetHeader();
    public final ArpPacket arp = new ArpPacket();
    public final Ipv4Header ip = new Ipv4Header();
    public final TcpHeader tcp = new TcpHeader();
    public final UdpHeader udp = new UdpHeader();
    public final IcmpHeader icmp = new IcmpHeader();
    /** The IPv4 header embedded in an ICMP error, after {@link #decodeIcmpError()}. */
    public final Ipv4Header embeddedIp = new Ipv4Header();

    private ByteBuffer buffer;
    private int offset;
    private int etherType;
    private int protocol;
    private int l4Offset;
    private int l4Length;
    private int embeddedL4Offset;

    public Malformation decode(ByteBuffer buffer, int offset, int length) {
        this.buffer = buffer;
        this.offset = offset;
        this.etherType = 0;
        this.protocol = 0;
        if (length < L3_OFFSET) {
            return Malformation.TRUNCATED_VXLAN;
        }
        vxlan.wrap(buffer, offset);
        if (!vxlan.hasValidVni()) {
            return Malformation.VXLAN_FLAGS;
        }
        ethernet.wrap(buffer, offset + ETHERNET_OFFSET);
        etherType = ethernet.type();
        int l3 = offset + L3_OFFSET;
        int available = length - L3_OFFSET;
        if (etherType == EthernetHeader.TYPE_ARP) {
            return decodeArp(l3, available);
        }
        if (etherType == EthernetHeader.TYPE_IPV4) {
            return decodeIpv4(l3, available);
        }
        return etherType == EthernetHeader.TYPE_IPV6 ? Malformation.IPV6 : Malformation.UNSUPPORTED_ETHERTYPE;
    }

    private Malformation decodeArp(int at, int available) {
        if (available < ArpPacket.LENGTH) {
            return Malformation.TRUNCATED_ARP;
        }
        arp.wrap(buffer, at);
        if (arp.hardwareType() != ArpPacket.HTYPE_ETHERNET || arp.protocolType() != EthernetHeader.TYPE_IPV4
                || arp.hardwareLength() != 6 || arp.protocolLength() != 4) {
            return Malformation.BAD_ARP;
        }
        return Malformation.NONE;
    }

    private Malformation decodeIpv4(int at, int available) {
        if (available < Ipv4Header.MIN_LENGTH) {
            return Malformation.TRUNCATED_IPV4;
        }
        ip.wrap(buffer, at);
        if (ip.version() != 4) {
            return Malformation.BAD_IP_VERSION;
        }
        int headerLength = ip.headerLength();
        if (headerLength < Ipv4Header.MIN_LENGTH) {
            return Malformation.BAD_IHL;
        }
        if (headerLength > available) {
            return Malformation.TRUNCATED_IPV4;
        }
        int totalLength = ip.totalLength();
        if (totalLength < headerLength || totalLength > available) {
            return Malformation.BAD_TOTAL_LENGTH;
        }
        if (!ip.hasValidChecksum()) {
            return Malformation.BAD_IP_CHECKSUM;
        }
        if (ip.isFragment()) {
            return Malformation.FRAGMENT;
        }
        protocol = ip.protocol();
        l4Offset = at + headerLength;
        l4Length = totalLength - headerLength;
        switch (protocol) {
            case Ipv4Header.PROTOCOL_TCP -> {
                if (l4Length < TcpHeader.MIN_LENGTH) {
                    return Malformation.TRUNCATED_L4;
                }
                tcp.wrap(buffer, l4Offset);
                int dataOffset = tcp.headerLength();
                if (dataOffset < TcpHeader.MIN_LENGTH || dataOffset > l4Length) {
                    return Malformation.BAD_TCP_OFFSET;
                }
            }
            case Ipv4Header.PROTOCOL_UDP -> {
                if (l4Length < UdpHeader.LENGTH) {
                    return Malformation.TRUNCATED_L4;
                }
                udp.wrap(buffer, l4Offset);
                int udpLength = udp.length();
                if (udpLength < UdpHeader.LENGTH || udpLength > l4Length) {
                    return Malformation.BAD_UDP_LENGTH;
                }
            }
            case Ipv4Header.PROTOCOL_ICMP -> {
                if (l4Length < IcmpHeader.LENGTH) {
                    return Malformation.TRUNCATED_L4;
                }
                icmp.wrap(buffer, l4Offset);
            }
            default -> {
                // Other protocols are well formed as far as IPv4 goes; policy decides.
            }
        }
        return Malformation.NONE;
    }

    /**
     * For an ICMP error (after a successful {@link #decode}), checks that it embeds an IPv4 header
     * plus the first 8 bytes of its payload (RFC 792), and wraps {@link #embeddedIp}. The embedded
     * transport ports, if any, are at {@link #embeddedL4Offset()}.
     */
    public Malformation decodeIcmpError() {
        int at = l4Offset + IcmpHeader.EMBEDDED_OFFSET;
        int available = l4Length - IcmpHeader.EMBEDDED_OFFSET;
        if (available < Ipv4Header.MIN_LENGTH + 8) {
            return Malformation.BAD_EMBEDDED;
        }
        embeddedIp.wrap(buffer, at);
        int headerLength = embeddedIp.headerLength();
        if (embeddedIp.version() != 4 || headerLength < Ipv4Header.MIN_LENGTH || headerLength + 8 > available) {
            return Malformation.BAD_EMBEDDED;
        }
        embeddedL4Offset = at + headerLength;
        return Malformation.NONE;
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    /** Offset of the VXLAN header: where {@link #decode} started. */
    public int offset() {
        return offset;
    }

    public int etherType() {
        return etherType;
    }

    /** IPv4 protocol number of a decoded IPv4 frame, else 0. */
    public int protocol() {
        return protocol;
    }

    public int l4Offset() {
        return l4Offset;
    }

    public int l4Length() {
        return l4Length;
    }

    public int embeddedL4Offset() {
        return embeddedL4Offset;
    }
}
