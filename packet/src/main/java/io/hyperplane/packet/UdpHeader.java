package io.hyperplane.packet;

/**
 * UDP header, RFC 768. Over IPv4 a zero checksum means "none" and must stay zero.
 * <pre>
 * +----------------+----------------+
 * | source port    | dest. port     |
 * +----------------+----------------+
 * | length         | checksum       |
 * +----------------+----------------+
 * </pre>
 */
public final class UdpHeader extends Flyweight<UdpHeader> {
    public static final int LENGTH = 8;
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;

    public int sourcePort() {
        return Bytes.u16(buffer, offset + SOURCE_PORT_OFFSET);
    }

    public int destinationPort() {
        return Bytes.u16(buffer, offset + DESTINATION_PORT_OFFSET);
    }

    public int length() {
        return Bytes.u16(buffer, offset + LENGTH_OFFSET);
    }

    public int checksum() {
        return Bytes.u16(buffer, offset + CHECKSUM_OFFSET);
    }

    public UdpHeader checksum(int checksum) {
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, checksum);
        return this;
    }

    public UdpHeader rewriteSourcePort(int port) {
        int old = sourcePort();
        Bytes.u16(buffer, offset + SOURCE_PORT_OFFSET, port);
        adjust(old, port, false);
        return this;
    }

    public UdpHeader rewriteDestinationPort(int port) {
        int old = destinationPort();
        Bytes.u16(buffer, offset + DESTINATION_PORT_OFFSET, port);
        adjust(old, port, false);
        return this;
    }

    public UdpHeader pseudoHeaderAddressChanged(int oldAddress, int newAddress) {
        adjust(oldAddress, newAddress, true);
        return this;
    }

    private void adjust(int oldValue, int newValue, boolean wide) {
        int current = checksum();
        if (current == 0) {
            return; // no checksum (RFC 768): leave it absent
        }
        int updated = wide ? Checksums.update32(current, oldValue, newValue) : Checksums.update16(current, oldValue, newValue);
        checksum(updated == 0 ? 0xffff : updated); // a computed zero is sent as all ones (RFC 768)
    }

    /** Writes the header; the checksum is left zero (absent). */
    public UdpHeader set(int sourcePort, int destinationPort, int length) {
        Bytes.u16(buffer, offset + SOURCE_PORT_OFFSET, sourcePort);
        Bytes.u16(buffer, offset + DESTINATION_PORT_OFFSET, destinationPort);
        Bytes.u16(buffer, offset + LENGTH_OFFSET, length);
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, 0);
        return this;
    }
}
