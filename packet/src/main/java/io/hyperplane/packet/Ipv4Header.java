package io.hyperplane.packet;

/**
 * IPv4 header, RFC 791 §3.1. Options, when present, sit between the fixed part and the payload
 * ({@link #headerLength()} covers them).
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5)                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Ipv4Header extends Flyweight<Ipv4Header> {
    public static final int MIN_LENGTH = 20;
    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SOURCE_OFFSET = 12;
    public static final int DESTINATION_OFFSET = 16;
    public static final int PROTOCOL_ICMP = 1;
    public static final int PROTOCOL_TCP = 6;
    public static final int PROTOCOL_UDP = 17;
    public static final int FLAG_DONT_FRAGMENT = 0x4000;
    public static final int FLAG_MORE_FRAGMENTS = 0x2000;
    public static final int FRAGMENT_OFFSET_MASK = 0x1fff;

    public int version() {
        return Bytes.u8(buffer, offset) >>> 4;
    }

    /** Header length in bytes, options included (IHL × 4). */
    public int headerLength() {
        return (Bytes.u8(buffer, offset) & 0x0f) << 2;
    }

    public int totalLength() {
        return Bytes.u16(buffer, offset + TOTAL_LENGTH_OFFSET);
    }

    public int identification() {
        return Bytes.u16(buffer, offset + IDENTIFICATION_OFFSET);
    }

    public int flagsAndFragmentOffset() {
        return Bytes.u16(buffer, offset + FLAGS_FRAGMENT_OFFSET);
    }

    /** True for any fragment: more-fragments set or a non-zero offset (RFC 791 §3.2). */
    public boolean isFragment() {
        return (flagsAndFragmentOffset() & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public int ttl() {
        return Bytes.u8(buffer, offset + TTL_OFFSET);
    }

    public int protocol() {
        return Bytes.u8(buffer, offset + PROTOCOL_OFFSET);
    }

    public int checksum() {
        return Bytes.u16(buffer, offset + CHECKSUM_OFFSET);
    }

    public Ipv4Header checksum(int checksum) {
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, checksum);
        return this;
    }

    public int source() {
        return Bytes.i32(buffer, offset + SOURCE_OFFSET);
    }

    public int destination() {
        return Bytes.i32(buffer, offset + DESTINATION_OFFSET);
    }

    /** Rewrites the source address and updates the header checksum incrementally (RFC 1624). */
    public Ipv4Header rewriteSource(int address) {
        int old = source();
        Bytes.i32(buffer, offset + SOURCE_OFFSET, address);
        checksum(Checksums.update32(checksum(), old, address));
        return this;
    }

    /** Rewrites the destination address and updates the header checksum incrementally (RFC 1624). */
    public Ipv4Header rewriteDestination(int address) {
        int old = destination();
        Bytes.i32(buffer, offset + DESTINATION_OFFSET, address);
        checksum(Checksums.update32(checksum(), old, address));
        return this;
    }

    /**
     * Decrements the TTL as a router does (RFC 1812 §5.3.1), updating the checksum over the
     * 16-bit word TTL shares with the protocol field. The caller drops packets with TTL <= 1 first.
     */
    public Ipv4Header decrementTtl() {
        int oldWord = Bytes.u16(buffer, offset + TTL_OFFSET);
        int newWord = oldWord - 0x0100;
        Bytes.u16(buffer, offset + TTL_OFFSET, newWord);
        checksum(Checksums.update16(checksum(), oldWord, newWord));
        return this;
    }

    /** Recomputes the header checksum from scratch, options included. */
    public Ipv4Header fillChecksum() {
        checksum(0);
        checksum(Checksums.finish(Checksums.sum(buffer, offset, headerLength(), 0)));
        return this;
    }

    public boolean hasValidChecksum() {
        return Checksums.finish(Checksums.sum(buffer, offset, headerLength(), 0)) == 0;
    }

    /** Writes a 20-byte header without options and fills its checksum. */
    public Ipv4Header set(int totalLength, int identification, int ttl, int protocol, int source, int destination) {
        buffer.put(offset + VERSION_IHL_OFFSET, (byte) 0x45);
        buffer.put(offset + TOS_OFFSET, (byte) 0);
        Bytes.u16(buffer, offset + TOTAL_LENGTH_OFFSET, totalLength);
        Bytes.u16(buffer, offset + IDENTIFICATION_OFFSET, identification);
        Bytes.u16(buffer, offset + FLAGS_FRAGMENT_OFFSET, FLAG_DONT_FRAGMENT);
        buffer.put(offset + TTL_OFFSET, (byte) ttl);
        buffer.put(offset + PROTOCOL_OFFSET, (byte) protocol);
        Bytes.i32(buffer, offset + SOURCE_OFFSET, source);
        Bytes.i32(buffer, offset + DESTINATION_OFFSET, destination);
        return fillChecksum();
    }

    /**
     * The transport checksum's pseudo-header sum (RFC 793 §3.1, RFC 768), unfolded, for a
     * transport segment of {@code l4Length} bytes.
     */
    public int pseudoHeaderSum(int l4Length) {
        int src = source();
        int dst = destination();
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol() + l4Length;
    }
}
