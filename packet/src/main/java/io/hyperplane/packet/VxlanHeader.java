package io.hyperplane.packet;

import java.nio.ByteBuffer;

/**
 * VXLAN header, RFC 7348 §5. Carried in UDP (port 4789); the inner Ethernet frame follows.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * The I flag must be set; the reserved bits are written as zero and ignored on receipt (§5).
 */
public final class VxlanHeader extends Flyweight<VxlanHeader> {
    public static final int LENGTH = 8;
    public static final int FLAGS_OFFSET = 0;
    public static final int VNI_OFFSET = 4;
    public static final int FLAG_I = 0x08;
    public static final int MAX_VNI = 0xff_ffff;
    public static final int UDP_PORT = 4789;
    /**
     * A reserved bit of the flags (written as zero, ignored on receipt, §5) that a fleet member
     * sets on a frame it passes to another member: an ARP answer it relays, or a packet of a flow
     * that member owns. The original outer source goes in the reserved bytes: its top 24 bits in
     * bytes 1-3, its low 8 in byte 7, after the VNI. Only members set it, and only members' marks
     * are believed. It never leaves the fleet: the forwarder writes every header it sends whole
     * ({@link #set}), and a kernel VTEP drops a frame with any reserved bit set.
     */
    public static final int RELAY_FLAG = 0x01;
    private static final int RELAY_SOURCE_HIGH = 1;
    private static final int RELAY_SOURCE_LOW = 7;

    /** Whether the VXLAN header at {@code at} carries a member's relay mark. */
    public static boolean isRelayed(ByteBuffer frame, int at) {
        return (frame.get(at + FLAGS_OFFSET) & RELAY_FLAG) != 0;
    }

    /** Marks the VXLAN header at {@code at}, in place, as passed on by a member for outer source {@code source}. */
    public static void markRelayed(ByteBuffer frame, int at, int source) {
        frame.put(at + FLAGS_OFFSET, (byte) (frame.get(at + FLAGS_OFFSET) | RELAY_FLAG));
        frame.put(at + RELAY_SOURCE_HIGH, (byte) (source >>> 24));
        frame.put(at + RELAY_SOURCE_HIGH + 1, (byte) (source >>> 16));
        frame.put(at + RELAY_SOURCE_HIGH + 2, (byte) (source >>> 8));
        frame.put(at + RELAY_SOURCE_LOW, (byte) source);
    }

    /** The original outer source a member wrote into a relayed frame's VXLAN header at {@code at}. */
    public static int relayedSource(ByteBuffer frame, int at) {
        return (frame.get(at + RELAY_SOURCE_HIGH) & 0xff) << 24 | (frame.get(at + RELAY_SOURCE_HIGH + 1) & 0xff) << 16
                | (frame.get(at + RELAY_SOURCE_HIGH + 2) & 0xff) << 8 | frame.get(at + RELAY_SOURCE_LOW) & 0xff;
    }

    public int flags() {
        return Bytes.u8(buffer, offset + FLAGS_OFFSET);
    }

    public boolean hasValidVni() {
        return (flags() & FLAG_I) != 0;
    }

    public int vni() {
        return Bytes.i32(buffer, offset + VNI_OFFSET) >>> 8;
    }

    /** Writes a complete header: I flag, zero reserved bits, the VNI. */
    public VxlanHeader set(int vni) {
        Bytes.i32(buffer, offset + FLAGS_OFFSET, FLAG_I << 24);
        Bytes.i32(buffer, offset + VNI_OFFSET, vni << 8);
        return this;
    }
}
