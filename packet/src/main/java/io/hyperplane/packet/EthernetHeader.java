package io.hyperplane.packet;

/**
 * Ethernet II header (IEEE 802.3 type field). VLAN tags are not used inside tunnels here.
 * <pre>
 * +-------------------+-------------------+-----------+
 * | destination (6)   | source (6)        | type (2)  |
 * +-------------------+-------------------+-----------+
 * </pre>
 */
public final class EthernetHeader extends Flyweight<EthernetHeader> {
    public static final int LENGTH = 14;
    public static final int DESTINATION_OFFSET = 0;
    public static final int SOURCE_OFFSET = 6;
    public static final int TYPE_OFFSET = 12;
    public static final int TYPE_IPV4 = 0x0800;
    public static final int TYPE_ARP = 0x0806;
    public static final int TYPE_IPV6 = 0x86dd;
    public static final int TYPE_VLAN = 0x8100;

    public long destination() {
        return Bytes.u48(buffer, offset + DESTINATION_OFFSET);
    }

    public EthernetHeader destination(long mac) {
        Bytes.u48(buffer, offset + DESTINATION_OFFSET, mac);
        return this;
    }

    public long source() {
        return Bytes.u48(buffer, offset + SOURCE_OFFSET);
    }

    public EthernetHeader source(long mac) {
        Bytes.u48(buffer, offset + SOURCE_OFFSET, mac);
        return this;
    }

    public int type() {
        return Bytes.u16(buffer, offset + TYPE_OFFSET);
    }

    public EthernetHeader type(int type) {
        Bytes.u16(buffer, offset + TYPE_OFFSET, type);
        return this;
    }
}
