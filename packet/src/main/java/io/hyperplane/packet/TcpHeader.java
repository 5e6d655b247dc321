package io.hyperplane.packet;

/**
 * TCP header, RFC 9293 §3.1.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class TcpHeader extends Flyweight<TcpHeader> {
    public static final int MIN_LENGTH = 20;
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int ACKNOWLEDGMENT_OFFSET = 8;
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;

    public int sourcePort() {
        return Bytes.u16(buffer, offset + SOURCE_PORT_OFFSET);
    }

    public int destinationPort() {
        return Bytes.u16(buffer, offset + DESTINATION_PORT_OFFSET);
    }

    public int sequence() {
        return Bytes.i32(buffer, offset + SEQUENCE_OFFSET);
    }

    public int acknowledgment() {
        return Bytes.i32(buffer, offset + ACKNOWLEDGMENT_OFFSET);
    }

    /** Header length in bytes, options included (data offset × 4). */
    public int headerLength() {
        return (Bytes.u8(buffer, offset + DATA_OFFSET_OFFSET) >>> 4) << 2;
    }

    public int flags() {
        return Bytes.u8(buffer, offset + FLAGS_OFFSET);
    }

    public int checksum() {
        return Bytes.u16(buffer, offset + CHECKSUM_OFFSET);
    }

    public TcpHeader checksum(int checksum) {
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, checksum);
        return this;
    }

    /** Rewrites the source port and updates the checksum incrementally. */
    public TcpHeader rewriteSourcePort(int port) {
        int old = sourcePort();
        Bytes.u16(buffer, offset + SOURCE_PORT_OFFSET, port);
        checksum(Checksums.update16(checksum(), old, port));
        return this;
    }

    public TcpHeader rewriteDestinationPort(int port) {
        int old = destinationPort();
        Bytes.u16(buffer, offset + DESTINATION_PORT_OFFSET, port);
        checksum(Checksums.update16(checksum(), old, port));
        return this;
    }

    /** Adjusts the checksum for an address change in the pseudo-header. */
    public TcpHeader pseudoHeaderAddressChanged(int oldAddress, int newAddress) {
        checksum(Checksums.update32(checksum(), oldAddress, newAddress));
        return this;
    }

    /** Writes a 20-byte header without options; the checksum is left zero. */
    public TcpHeader set(int sourcePort, int destinationPort, int sequence, int acknowledgment, int flags, int window) {
        Bytes.u16(buffer, offset + SOURCE_PORT_OFFSET, sourcePort);
        Bytes.u16(buffer, offset + DESTINATION_PORT_OFFSET, destinationPort);
        Bytes.i32(buffer, offset + SEQUENCE_OFFSET, sequence);
        Bytes.i32(buffer, offset + ACKNOWLEDGMENT_OFFSET, acknowledgment);
        buffer.put(offset + DATA_OFFSET_OFFSET, (byte) (5 << 4));
        buffer.put(offset + FLAGS_OFFSET, (byte) flags);
        Bytes.u16(buffer, offset + WINDOW_OFFSET, window);
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, 0);
        Bytes.u16(buffer, offset + 18, 0);
        return this;
    }
}
