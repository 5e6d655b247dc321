package io.hyperplane.packet;

/**
 * ICMP header, RFC 792. Echo request/reply carry an identifier and sequence number; error
 * messages (destination unreachable, time exceeded, parameter problem) carry the offending IP
 * header and at least 8 bytes of its payload starting at {@link #EMBEDDED_OFFSET}.
 * <pre>
 * +--------+--------+----------------+
 * | type   | code   | checksum       |
 * +--------+--------+----------------+
 * | identifier      | sequence       |   echo
 * | unused / MTU / pointer           |   errors, then the embedded IP header
 * +----------------------------------+
 * </pre>
 */
public final class IcmpHeader extends Flyweight<IcmpHeader> {
    public static final int LENGTH = 8;
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;
    public static final int EMBEDDED_OFFSET = 8;
    public static final int ECHO_REPLY = 0;
    public static final int DESTINATION_UNREACHABLE = 3;
    public static final int ECHO_REQUEST = 8;
    public static final int TIME_EXCEEDED = 11;
    public static final int PARAMETER_PROBLEM = 12;

    public int type() {
        return Bytes.u8(buffer, offset + TYPE_OFFSET);
    }

    public int code() {
        return Bytes.u8(buffer, offset + CODE_OFFSET);
    }

    public int checksum() {
        return Bytes.u16(buffer, offset + CHECKSUM_OFFSET);
    }

    public IcmpHeader checksum(int checksum) {
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, checksum);
        return this;
    }

    public int identifier() {
        return Bytes.u16(buffer, offset + IDENTIFIER_OFFSET);
    }

    public int sequence() {
        return Bytes.u16(buffer, offset + SEQUENCE_OFFSET);
    }

    public boolean isEcho() {
        int type = type();
        return type == ECHO_REQUEST || type == ECHO_REPLY;
    }

    public boolean isError() {
        int type = type();
        return type == DESTINATION_UNREACHABLE || type == TIME_EXCEEDED || type == PARAMETER_PROBLEM;
    }

    public IcmpHeader rewriteIdentifier(int identifier) {
        int old = identifier();
        Bytes.u16(buffer, offset + IDENTIFIER_OFFSET, identifier);
        checksum(Checksums.update16(checksum(), old, identifier));
        return this;
    }

    /** Writes type, code, identifier and sequence; the checksum is left zero. */
    public IcmpHeader set(int type, int code, int identifier, int sequence) {
        buffer.put(offset + TYPE_OFFSET, (byte) type);
        buffer.put(offset + CODE_OFFSET, (byte) code);
        Bytes.u16(buffer, offset + CHECKSUM_OFFSET, 0);
        Bytes.u16(buffer, offset + IDENTIFIER_OFFSET, identifier);
        Bytes.u16(buffer, offset + SEQUENCE_OFFSET, sequence);
        return this;
    }

    /** Recomputes the checksum over the whole ICMP message of {@code length} bytes. */
    public IcmpHeader fillChecksum(int length) {
        checksum(0);
        checksum(Checksums.finish(Checksums.sum(buffer, offset, length, 0)));
        return this;
    }
}
