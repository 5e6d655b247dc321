package io.hyperplane.packet;

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

    public VxlanHeader vni(int vni) {
        Bytes.i32(buffer, offset + VNI_OFFSET, vni << 8);
        return this;
    }
}
