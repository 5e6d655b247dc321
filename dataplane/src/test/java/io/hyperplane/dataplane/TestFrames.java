package io.hyperplane.dataplane;

import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.Checksums;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.IcmpHeader;
import io.hyperplane.packet.Ipv4Header;
import io.hyperplane.packet.TcpHeader;
import io.hyperplane.packet.UdpHeader;
import io.hyperplane.packet.VxlanHeader;

import java.nio.ByteBuffer;

/** Builds VXLAN datagrams (the UDP payload) for forwarder tests, with correct checksums. */
public final class TestFrames {
    public static final int L3 = FrameDecoder.L3_OFFSET;

    private TestFrames() {
    }

    public static ByteBuffer tcp(int vni, long srcMac, long dstMac, int src, int sport, int dst, int dport, int flags, int payload) {
        int l4 = TcpHeader.MIN_LENGTH + payload;
        ByteBuffer b = frame(vni, srcMac, dstMac, EthernetHeader.TYPE_IPV4, Ipv4Header.MIN_LENGTH + l4);
        Ipv4Header ip = new Ipv4Header().wrap(b, L3);
        ip.set(Ipv4Header.MIN_LENGTH + l4, 1, 64, Ipv4Header.PROTOCOL_TCP, src, dst);
        TcpHeader tcp = new TcpHeader().wrap(b, L3 + 20);
        tcp.set(sport, dport, 1000, (flags & TcpHeader.ACK) != 0 ? 2000 : 0, flags, 65535);
        for (int i = 0; i < payload; i++) {
            b.put(L3 + 40 + i, (byte) i);
        }
        tcp.checksum(Checksums.transport(ip, L3 + 20, l4));
        return b;
    }

    public static ByteBuffer udp(int vni, long srcMac, long dstMac, int src, int sport, int dst, int dport, int payload) {
        int l4 = UdpHeader.LENGTH + payload;
        ByteBuffer b = frame(vni, srcMac, dstMac, EthernetHeader.TYPE_IPV4, Ipv4Header.MIN_LENGTH + l4);
        Ipv4Header ip = new Ipv4Header().wrap(b, L3);
        ip.set(Ipv4Header.MIN_LENGTH + l4, 1, 64, Ipv4Header.PROTOCOL_UDP, src, dst);
        UdpHeader udp = new UdpHeader().wrap(b, L3 + 20);
        udp.set(sport, dport, l4);
        for (int i = 0; i < payload; i++) {
            b.put(L3 + 28 + i, (byte) (i * 7));
        }
        int sum = Checksums.transport(ip, L3 + 20, l4);
        udp.checksum(sum == 0 ? 0xffff : sum);
        return b;
    }

    public static ByteBuffer icmpEcho(int vni, long srcMac, long dstMac, int src, int dst, int type, int id, int seq) {
        int l4 = IcmpHeader.LENGTH + 16;
        ByteBuffer b = frame(vni, srcMac, dstMac, EthernetHeader.TYPE_IPV4, Ipv4Header.MIN_LENGTH + l4);
        Ipv4Header ip = new Ipv4Header().wrap(b, L3);
        ip.set(Ipv4Header.MIN_LENGTH + l4, 1, 64, Ipv4Header.PROTOCOL_ICMP, src, dst);
        IcmpHeader icmp = new IcmpHeader().wrap(b, L3 + 20);
        icmp.set(type, 0, id, seq);
        icmp.fillChecksum(l4);
        return b;
    }

    /**
     * An ICMP error from {@code router} to {@code offendingSrc}, embedding the offending packet's
     * IP header and first {@code embeddedL4Bytes} bytes (taken from {@code offending}, a datagram
     * as built by the other methods, after any rewrite).
     */
    public static ByteBuffer icmpError(int vni, long srcMac, long dstMac, int router, int type, int code, ByteBuffer offending, int embeddedL4Bytes) {
        int embedded = Ipv4Header.MIN_LENGTH + embeddedL4Bytes;
        int l4 = IcmpHeader.LENGTH + embedded;
        Ipv4Header off = new Ipv4Header().wrap(offending, L3);
        ByteBuffer b = frame(vni, srcMac, dstMac, EthernetHeader.TYPE_IPV4, Ipv4Header.MIN_LENGTH + l4);
        Ipv4Header ip = new Ipv4Header().wrap(b, L3);
        ip.set(Ipv4Header.MIN_LENGTH + l4, 1, 64, Ipv4Header.PROTOCOL_ICMP, router, off.source());
        IcmpHeader icmp = new IcmpHeader().wrap(b, L3 + 20);
        icmp.set(type, code, 0, 0);
        b.put(L3 + 28, offending, L3, embedded);
        icmp.fillChecksum(l4);
        return b;
    }

    public static ByteBuffer arp(int vni, long srcMac, long dstMac, int op, long senderMac, int senderIp, long targetMac, int targetIp) {
        ByteBuffer b = frame(vni, srcMac, dstMac, EthernetHeader.TYPE_ARP, ArpPacket.LENGTH);
        new ArpPacket().wrap(b, L3).set(op, senderMac, senderIp, targetMac, targetIp);
        return b;
    }

    private static ByteBuffer frame(int vni, long srcMac, long dstMac, int type, int l3Length) {
        ByteBuffer b = ByteBuffer.allocate(L3 + l3Length);
        new VxlanHeader().wrap(b, 0).set(vni);
        new EthernetHeader().wrap(b, FrameDecoder.ETHERNET_OFFSET).destination(dstMac).source(srcMac).type(type);
        return b;
    }
}
