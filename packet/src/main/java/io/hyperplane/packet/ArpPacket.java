package io.hyperplane.packet;

/**
 * ARP for IPv4 over Ethernet, RFC 826. Only this combination is accepted by {@link FrameDecoder}.
 * <pre>
 * +-----------+-----------+-----+-----+-----------+
 * | htype (2) | ptype (2) | hlen| plen| oper (2)  |
 * +-----------+-----------+-----+-----+-----------+
 * | sender hardware address (6) | sender IP (4)   |
 * +-----------------------------+-----------------+
 * | target hardware address (6) | target IP (4)   |
 * +-----------------------------+-----------------+
 * </pre>
 */
public final class ArpPacket extends Flyweight<ArpPacket> {
    public static final int LENGTH = 28;
    public static final int HTYPE_OFFSET = 0;
    public static final int PTYPE_OFFSET = 2;
    public static final int HLEN_OFFSET = 4;
    public static final int PLEN_OFFSET = 5;
    public static final int OPERATION_OFFSET = 6;
    public static final int SENDER_MAC_OFFSET = 8;
    public static final int SENDER_IP_OFFSET = 14;
    public static final int TARGET_MAC_OFFSET = 18;
    public static final int TARGET_IP_OFFSET = 24;
    public static final int HTYPE_ETHERNET = 1;
    public static final int REQUEST = 1;
    public static final int REPLY = 2;

    public int hardwareType() {
        return Bytes.u16(buffer, offset + HTYPE_OFFSET);
    }

    public int protocolType() {
        return Bytes.u16(buffer, offset + PTYPE_OFFSET);
    }

    public int hardwareLength() {
        return Bytes.u8(buffer, offset + HLEN_OFFSET);
    }

    public int protocolLength() {
        return Bytes.u8(buffer, offset + PLEN_OFFSET);
    }

    public int operation() {
        return Bytes.u16(buffer, offset + OPERATION_OFFSET);
    }

    public long senderMac() {
        return Bytes.u48(buffer, offset + SENDER_MAC_OFFSET);
    }

    public int senderIp() {
        return Bytes.i32(buffer, offset + SENDER_IP_OFFSET);
    }

    public long targetMac() {
        return Bytes.u48(buffer, offset + TARGET_MAC_OFFSET);
    }

    public int targetIp() {
        return Bytes.i32(buffer, offset + TARGET_IP_OFFSET);
    }

    /** Writes a whole IPv4-over-Ethernet ARP packet. */
    public ArpPacket set(int operation, long senderMac, int senderIp, long targetMac, int targetIp) {
        Bytes.u16(buffer, offset + HTYPE_OFFSET, HTYPE_ETHERNET);
        Bytes.u16(buffer, offset + PTYPE_OFFSET, EthernetHeader.TYPE_IPV4);
        buffer.put(offset + HLEN_OFFSET, (byte) 6);
        buffer.put(offset + PLEN_OFFSET, (byte) 4);
        Bytes.u16(buffer, offset + OPERATION_OFFSET, operation);
        Bytes.u48(buffer, offset + SENDER_MAC_OFFSET, senderMac);
        Bytes.i32(buffer, offset + SENDER_IP_OFFSET, senderIp);
        Bytes.u48(buffer, offset + TARGET_MAC_OFFSET, targetMac);
        Bytes.i32(buffer, offset + TARGET_IP_OFFSET, targetIp);
        return this;
    }
}
