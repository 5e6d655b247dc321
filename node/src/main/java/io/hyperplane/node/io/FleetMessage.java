package io.hyperplane.node.io;

import java.nio.ByteBuffer;

/**
 * The fleet channel's datagram (docs/fleet.md, "Replication"; docs/architecture.md): flow records
 * a node copies to its backup, and the backup's cumulative acknowledgements. It travels between
 * members' unicast addresses on the VXLAN port, where its first byte tells it from VXLAN (whose
 * flags byte always has the I bit, 0x08, which {@link #MAGIC} has not) and the steering program
 * gives it to the thread its {@link #THREAD_OFFSET} names.
 * <pre>
 *   0        1        2        3
 *  +--------+--------+--------+--------+
 *  | 0x46   | version| type   | count  |  type: 1 records, 2 ack, 3 hello; count: records (0: keepalive)
 *  +--------+--------+--------+--------+
 *  | thread          | sender index    |  records: the sending thread; ack: the thread acknowledged
 *  +-----------------+-----------------+
 *  | epoch: the record stream's incarnation (a restarted sender starts a new one)
 *  +-----------------------------------+
 *  | sequence (64 bits): records: the first record's; ack: every record below it arrived
 *  |                                   |
 *  +-----------------------------------+
 *  | floor (64 bits): records: the oldest record the sender still holds (a receiver that does not
 *  | know the stream starts there); ack: the acknowledging process's incarnation (low 32 bits)
 *  +-----------------------------------+
 *  | records, {@link #RECORD_SIZE} bytes each
 * </pre>
 * A record:
 * <pre>
 *   0 op | protocol | state | 0      4 VNI       8 source IP     12 source port | remote port
 *  16 remote IP      20 ENI VNI      24 ENI IP  28 NAT port | 0  32 expires in (seconds)
 * </pre>
 * Every record is the whole flow, not a delta: a lost one is made good by the next of the same
 * flow, and a backup that joins late learns a live flow from its next refresh.
 */
public final class FleetMessage {
    /** "F"; the liveness probe starts with "P" (0x50), VXLAN with its flags (0x08 set): all three apart. */
    public static final byte MAGIC = 0x46;
    public static final int VERSION = 1;
    public static final int RECORDS = 1;
    public static final int ACK = 2;
    /** A member's periodic word to every other member, so each knows which members it hears (docs/fleet.md, "Redirect"). */
    public static final int HELLO = 3;
    public static final int VERSION_OFFSET = 1;
    public static final int TYPE_OFFSET = 2;
    public static final int COUNT_OFFSET = 3;
    public static final int THREAD_OFFSET = 4;
    public static final int SENDER_OFFSET = 6;
    public static final int EPOCH_OFFSET = 8;
    public static final int SEQUENCE_OFFSET = 12;
    public static final int FLOOR_OFFSET = 20;
    public static final int HEADER_SIZE = 28;

    public static final int OP_COPY = 1;
    public static final int OP_FORGET = 2;
    public static final int RECORD_SIZE = 36;
    public static final int R_OP = 0;
    public static final int R_PROTOCOL = 1;
    public static final int R_STATE = 2;
    public static final int R_VNI = 4;
    public static final int R_SOURCE_IP = 8;
    public static final int R_SOURCE_PORT = 12;
    public static final int R_REMOTE_PORT = 14;
    public static final int R_REMOTE_IP = 16;
    public static final int R_ENI_VNI = 20;
    public static final int R_ENI_IP = 24;
    public static final int R_NAT_PORT = 28;
    public static final int R_EXPIRES_IN = 32;
    /** Records per datagram: 28 + 38 * 36 = 1,396 bytes, inside the underlay's 1,500-byte MTU with IP and UDP headers. */
    public static final int MAX_RECORDS = 38;
    public static final int MAX_SIZE = HEADER_SIZE + MAX_RECORDS * RECORD_SIZE;

    private FleetMessage() {
    }

    /** Whether the datagram at {@code at} is a fleet message (any version) rather than VXLAN. */
    public static boolean is(ByteBuffer b, int at, int length) {
        return length > 0 && b.get(at) == MAGIC;
    }

    /** Writes a header. */
    public static void header(ByteBuffer b, int at, int type, int count, int thread, int sender, int epoch, long sequence, long floor) {
        b.put(at, MAGIC);
        b.put(at + VERSION_OFFSET, (byte) VERSION);
        b.put(at + TYPE_OFFSET, (byte) type);
        b.put(at + COUNT_OFFSET, (byte) count);
        b.putShort(at + THREAD_OFFSET, (short) thread);
        b.putShort(at + SENDER_OFFSET, (short) sender);
        b.putInt(at + EPOCH_OFFSET, epoch);
        b.putLong(at + SEQUENCE_OFFSET, sequence);
        b.putLong(at + FLOOR_OFFSET, floor);
    }

    /**
     * Whether the datagram is a well-formed message of this version: a known type, and for
     * records exactly {@code count} of them (none: a keepalive); anything else is ignored by the receiver.
     */
    public static boolean isValid(ByteBuffer b, int at, int length) {
        if (length < HEADER_SIZE || b.get(at) != MAGIC || b.get(at + VERSION_OFFSET) != VERSION) {
            return false;
        }
        int type = b.get(at + TYPE_OFFSET);
        int count = b.get(at + COUNT_OFFSET) & 0xff;
        return (type == ACK || type == HELLO) && length == HEADER_SIZE
                || type == RECORDS && count <= MAX_RECORDS && length == HEADER_SIZE + count * RECORD_SIZE;
    }

    public static int type(ByteBuffer b, int at) {
        return b.get(at + TYPE_OFFSET);
    }

    public static int count(ByteBuffer b, int at) {
        return b.get(at + COUNT_OFFSET) & 0xff;
    }

    public static int thread(ByteBuffer b, int at) {
        return b.getShort(at + THREAD_OFFSET) & 0xffff;
    }

    public static int sender(ByteBuffer b, int at) {
        return b.getShort(at + SENDER_OFFSET) & 0xffff;
    }

    public static int epoch(ByteBuffer b, int at) {
        return b.getInt(at + EPOCH_OFFSET);
    }

    public static long sequence(ByteBuffer b, int at) {
        return b.getLong(at + SEQUENCE_OFFSET);
    }

    public static long floor(ByteBuffer b, int at) {
        return b.getLong(at + FLOOR_OFFSET);
    }
}
