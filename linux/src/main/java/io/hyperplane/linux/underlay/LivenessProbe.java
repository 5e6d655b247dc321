package io.hyperplane.linux.underlay;

import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The underlay liveness probe and its answer: one UDP datagram each way, the answer being the
 * probe sent back with its kind changed, so a responder (the test's {@link UdpProbeResponder}, a
 * node's forwarding socket later) needs no state and no allocation to answer.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      magic 0x50524F42 "PROB"                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  version (1)  | kind 1 probe, 2 answer | incarnation (answer) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                target (the prober's id for it)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           sequence                            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              sent at (the prober's clock, nanoseconds)        |
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * Network byte order. The first byte, 0x50, has VXLAN's I flag (0x08, RFC 7348 §5) clear, so a
 * probe arriving on a VXLAN port can never be taken for a frame with a valid VNI: a node answers
 * probes on its forwarding socket by testing {@link #isProbe} before decoding VXLAN. Only the
 * prober reads target, sequence and time; a responder echoes them untouched. An answer carries
 * the responder's incarnation (0 in a probe): a number its process drew at start, so a prober
 * that hears a target again after finding it down can tell a target that merely went quiet for a
 * moment (the same incarnation: its state is intact) from one that restarted (a new one).
 * <p>Static methods over a buffer (in {@link java.nio.ByteOrder#BIG_ENDIAN}, a new buffer's order) and an
 * offset, like the project's header flyweights; the tests never throw on short or foreign input, they
 * answer false.
 */
public final class LivenessProbe {
    public static final int LENGTH = 24;
    public static final int MAGIC = 0x50524F42;
    public static final int VERSION = 1;
    public static final int KIND_PROBE = 1;
    public static final int KIND_ANSWER = 2;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int KIND_OFFSET = 5;
    public static final int INCARNATION_OFFSET = 6;
    public static final int TARGET_OFFSET = 8;
    public static final int SEQUENCE_OFFSET = 12;
    public static final int SENT_AT_OFFSET = 16;

    private LivenessProbe() {
    }

    /** Writes a whole probe at {@code offset}; the buffer's position and limit are untouched. */
    public static void writeProbe(ByteBuffer buffer, int offset, int target, int sequence, long sentAtNanos) {
        buffer.putInt(offset + MAGIC_OFFSET, MAGIC);
        buffer.put(offset + VERSION_OFFSET, (byte) VERSION);
        buffer.put(offset + KIND_OFFSET, (byte) KIND_PROBE);
        buffer.putShort(offset + INCARNATION_OFFSET, (short) 0);
        buffer.putInt(offset + TARGET_OFFSET, target);
        buffer.putInt(offset + SEQUENCE_OFFSET, sequence);
        buffer.putLong(offset + SENT_AT_OFFSET, sentAtNanos);
    }

    /** True when the {@code length} bytes at {@code offset} are a probe this version understands. */
    public static boolean isProbe(ByteBuffer buffer, int offset, int length) {
        return is(buffer, offset, length, KIND_PROBE);
    }

    /** True when the {@code length} bytes at {@code offset} are an answer to a probe. */
    public static boolean isAnswer(ByteBuffer buffer, int offset, int length) {
        return is(buffer, offset, length, KIND_ANSWER);
    }

    /**
     * Turns the probe at {@code offset} into its answer in place, from a responder of this
     * {@code incarnation} (1..65535): the responder sends the same bytes back. Call only after
     * {@link #isProbe}; anything after the first {@link #LENGTH} bytes is echoed too, so a prober
     * may pad its probes.
     */
    public static void answerInPlace(ByteBuffer buffer, int offset, int incarnation) {
        buffer.put(offset + KIND_OFFSET, (byte) KIND_ANSWER);
        buffer.putShort(offset + INCARNATION_OFFSET, (short) incarnation);
    }

    /** An incarnation for a responder process: drawn once, never 0 (a probe's value). */
    public static int newIncarnation() {
        return 1 + ThreadLocalRandom.current().nextInt(0xffff);
    }

    /** The answering responder's incarnation (1..65535). */
    public static int incarnation(ByteBuffer buffer, int offset) {
        return buffer.getShort(offset + INCARNATION_OFFSET) & 0xffff;
    }

    public static int target(ByteBuffer buffer, int offset) {
        return buffer.getInt(offset + TARGET_OFFSET);
    }

    public static int sequence(ByteBuffer buffer, int offset) {
        return buffer.getInt(offset + SEQUENCE_OFFSET);
    }

    public static long sentAtNanos(ByteBuffer buffer, int offset) {
        return buffer.getLong(offset + SENT_AT_OFFSET);
    }

    private static boolean is(ByteBuffer buffer, int offset, int length, int kind) {
        return offset >= 0 && length >= LENGTH && offset + LENGTH <= buffer.limit()
                && buffer.getInt(offset + MAGIC_OFFSET) == MAGIC
                && buffer.get(offset + VERSION_OFFSET) == VERSION
                && buffer.get(offset + KIND_OFFSET) == kind;
    }
}
