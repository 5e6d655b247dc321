package io.hyperplane.node.io;

import io.hyperplane.dataplane.flow.ThreadSteering;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The classic BPF program that picks, for each VXLAN datagram, which socket of the node's
 * SO_REUSEPORT group (so which forwarding thread) receives it: attached with
 * SO_ATTACH_REUSEPORT_CBPF, it runs in the kernel with the packet positioned at the UDP payload
 * and returns the socket's index in bind order.
 * <pre>
 *  offset 0        8              20     22                 22+IHL*4
 *         +--------+--------------+------+------------------+--------------------+
 *         | VXLAN  | inner dst/src| type | inner IPv4       | TCP/UDP ports,     |
 *         | header | MAC          |      | (proto at 31)    | ICMP type/id, ...  |
 *         +--------+--------------+------+------------------+--------------------+
 * </pre>
 * Rules, in order (every flow's two directions must meet on one thread, docs/architecture.md);
 * {@code steer(x)} is {@link ThreadSteering#thread}, {@code ((x * MULTIPLIER) >>> 16) mod threads}:
 * <ul>
 *   <li>TCP and UDP: {@code steer(source port + destination port)}. The reply swaps the ports and
 *       carries the NAT port where the request carried the source port; the NAT port allocator
 *       hands out only ports that steer like the source port, so both land on one thread.</li>
 *   <li>ICMP echo request and reply: {@code steer(identifier)} (the NAT identifier follows the
 *       same rule as a port).</li>
 *   <li>ICMP errors (destination unreachable, time exceeded, parameter problem): by the
 *       embedded header, the translated packet that caused them, whose port sum (or echo
 *       identifier) is the flow's. The embedded IPv4 header is assumed to be 20 bytes: options
 *       on a packet we sent never occur, and a wrong guess only costs the error its flow.</li>
 *   <li>A fleet message ({@link FleetMessage}, first byte {@link FleetMessage#MAGIC}, never a
 *       VXLAN flags byte): {@code thread field mod threads}, the thread its records belong to or
 *       its acknowledgement is for.</li>
 *   <li>ARP, anything not IPv4, later fragments (no ports), anything short: thread 0. A load
 *       past the packet's end ends the program with 0, which is thread 0 as well.</li>
 * </ul>
 * The kernel falls back to its own hash when the program returns an index past the group, which
 * {@code mod threads} never does. Its arithmetic is 32-bit, as {@link ThreadSteering}'s is.
 */
public final class SteeringProgram {
    // cBPF opcodes (linux/filter.h, linux/bpf_common.h).
    static final int LD_H_ABS = 0x28;
    static final int LD_B_ABS = 0x30;
    static final int LD_H_IND = 0x48;
    static final int LD_B_IND = 0x50;
    static final int LDX_B_MSH = 0xb1;
    static final int LDX_MEM = 0x61;
    static final int ST = 0x02;
    static final int ADD_X = 0x0c;
    static final int MUL_K = 0x24;
    static final int RSH_K = 0x74;
    static final int MOD_K = 0x94;
    static final int JEQ_K = 0x15;
    static final int JSET_K = 0x45;
    static final int RET_K = 0x06;
    static final int RET_A = 0x16;
    /** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
    public static final int INSTRUCTION_SIZE = 8;

    // Offsets from the UDP payload (VXLAN header at 0).
    private static final int INNER_ETHER_TYPE = 20;
    private static final int INNER_IP = 22;
    private static final int INNER_FRAGMENT = INNER_IP + 6;
    private static final int INNER_PROTOCOL = INNER_IP + 9;
    /** After {@code ldx 4*([22]&0xf)}, the inner L4 header is at {@code x + 22}. */
    private static final int L4 = INNER_IP;
    private static final int ICMP_HEADER = 8;
    private static final int EMBEDDED_IP = L4 + ICMP_HEADER;
    private static final int EMBEDDED_PROTOCOL = EMBEDDED_IP + 9;
    private static final int EMBEDDED_L4 = EMBEDDED_IP + 20;

    private static final int ETHER_TYPE_IPV4 = 0x0800;
    private static final int FRAGMENT_OFFSET_MASK = 0x1fff;
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    private static final int ECHO_REPLY = 0;
    private static final int ECHO_REQUEST = 8;
    private static final int DESTINATION_UNREACHABLE = 3;
    private static final int TIME_EXCEEDED = 11;
    private static final int PARAMETER_PROBLEM = 12;

    /** The kernel's BPF_MAXINSNS is 4096; the program is a few dozen. */
    private final byte[] instructions;
    private final int threads;

    private SteeringProgram(byte[] instructions, int threads) {
        this.instructions = instructions;
        this.threads = threads;
    }

    /** The program for a group of {@code threads} sockets (2..65535: one thread needs none). */
    public static SteeringProgram forThreads(int threads) {
        if (threads < 2 || threads > 0xffff) {
            throw new IllegalArgumentException("threads " + threads + ": a steering program needs 2..65535");
        }
        Assembler a = new Assembler();
        a.op(LD_B_ABS, 0).jeq(FleetMessage.MAGIC, null, "vxlan");
        a.op(LD_H_ABS, FleetMessage.THREAD_OFFSET).op(MOD_K, threads).op(RET_A, 0);
        a.label("vxlan").op(LD_H_ABS, INNER_ETHER_TYPE).jeq(ETHER_TYPE_IPV4, null, "zero");
        a.op(LD_H_ABS, INNER_FRAGMENT).jset(FRAGMENT_OFFSET_MASK, "zero", null);
        a.op(LDX_B_MSH, INNER_IP);
        a.op(LD_B_ABS, INNER_PROTOCOL).jeq(TCP, "ports", null).jeq(UDP, "ports", null).jeq(ICMP, null, "zero");
        a.op(LD_B_IND, L4)
                .jeq(ECHO_REQUEST, "identifier", null).jeq(ECHO_REPLY, "identifier", null)
                .jeq(DESTINATION_UNREACHABLE, "error", null).jeq(TIME_EXCEEDED, "error", null)
                .jeq(PARAMETER_PROBLEM, "error", "zero");
        a.label("identifier").op(LD_H_IND, L4 + 4).steer(threads);
        a.label("ports").sum(L4).steer(threads);
        a.label("error").op(LD_B_IND, EMBEDDED_PROTOCOL).jeq(TCP, "embedded-ports", null).jeq(UDP, "embedded-ports", null)
                .jeq(ICMP, null, "zero");
        a.op(LD_H_IND, EMBEDDED_L4 + 4).steer(threads);
        a.label("embedded-ports").sum(EMBEDDED_L4).steer(threads);
        a.label("zero").op(RET_K, 0);
        return new SteeringProgram(a.assemble(), threads);
    }

    public int threads() {
        return threads;
    }

    /** Instructions in the program. */
    public int length() {
        return instructions.length / INSTRUCTION_SIZE;
    }

    /** The instructions as the kernel reads them ({@code struct sock_filter[]}, little-endian), a copy. */
    public byte[] bytes() {
        return instructions.clone();
    }

    // ---- wake-up datagrams ----------------------------------------------------------------------

    /** Eight bytes no VXLAN header has (its first byte is the flags, 0x08 with the I bit): a wake-up. */
    private static final long WAKE_MAGIC = 0x4850_5741_4B45_5550L; // "HPWAKEUP"
    /** Up to the inner UDP ports: VXLAN (the magic), Ethernet, 20 bytes of IPv4, 4 bytes of ports. */
    public static final int WAKE_LENGTH = L4 + 20 + 4;

    /**
     * A datagram the program steers to thread {@code thread} of {@code threads}: the magic where
     * the VXLAN header goes, then just enough of an inner IPv4/UDP packet for the port rule to
     * pick the thread (the first source port that steers there, destination port 0). The
     * forwarding thread that gets it skips it ({@link #isWake}); its only effect is that a
     * receive blocked on that socket returns.
     */
    public static ByteBuffer wakeDatagram(int thread, int threads) {
        ThreadSteering steering = new ThreadSteering(threads);
        Objects.checkIndex(thread, threads);
        int port = 0;
        while (steering.thread(port) != thread) {
            port++; // the hash spreads: within a few dozen ports for any thread
        }
        ByteBuffer b = ByteBuffer.allocateDirect(WAKE_LENGTH);
        b.putLong(0, WAKE_MAGIC);
        b.putShort(INNER_ETHER_TYPE, (short) ETHER_TYPE_IPV4);
        b.put(INNER_IP, (byte) 0x45);
        b.put(INNER_PROTOCOL, (byte) UDP);
        b.putShort(L4 + 20, (short) port);
        return b;
    }

    /** Whether the datagram at {@code offset} is a wake-up rather than VXLAN. */
    public static boolean isWake(ByteBuffer buffer, int offset, int length) {
        return length == WAKE_LENGTH && buffer.getLong(offset) == WAKE_MAGIC;
    }

    /** Builds the instructions, resolving forward jumps to labels (cBPF jumps only forward, at most 255 ahead). */
    private static final class Assembler {
        private final List<int[]> code = new ArrayList<>();
        private final List<String[]> targets = new ArrayList<>();
        private final Map<String, Integer> labels = new HashMap<>();

        Assembler op(int opcode, int k) {
            code.add(new int[] {opcode, 0, 0, k});
            targets.add(new String[] {null, null});
            return this;
        }

        /** A conditional jump: to {@code ifTrue} / {@code ifFalse}, null meaning the next instruction. */
        Assembler jeq(int k, String ifTrue, String ifFalse) {
            op(JEQ_K, k);
            targets.set(targets.size() - 1, new String[] {ifTrue, ifFalse});
            return this;
        }

        Assembler jset(int k, String ifTrue, String ifFalse) {
            op(JSET_K, k);
            targets.set(targets.size() - 1, new String[] {ifTrue, ifFalse});
            return this;
        }

        /** A = half-word at x+at + half-word at x+at+2 (the two ports). */
        Assembler sum(int at) {
            return op(LD_H_IND, at).op(ST, 0).op(LD_H_IND, at + 2).op(LDX_MEM, 0).op(ADD_X, 0);
        }

        /** Return {@link ThreadSteering#thread} of A. */
        Assembler steer(int threads) {
            return op(MUL_K, ThreadSteering.MULTIPLIER).op(RSH_K, ThreadSteering.SHIFT).op(MOD_K, threads).op(RET_A, 0);
        }

        Assembler label(String name) {
            labels.put(name, code.size());
            return this;
        }

        byte[] assemble() {
            ByteBuffer out = ByteBuffer.allocate(code.size() * INSTRUCTION_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            for (int pc = 0; pc < code.size(); pc++) {
                int[] insn = code.get(pc);
                out.putShort((short) insn[0]);
                out.put((byte) offset(pc, targets.get(pc)[0]));
                out.put((byte) offset(pc, targets.get(pc)[1]));
                out.putInt(insn[3]);
            }
            return out.array();
        }

        private int offset(int pc, String label) {
            if (label == null) {
                return 0;
            }
            int jump = labels.get(label) - pc - 1;
            if (jump < 0 || jump > 0xff) {
                throw new IllegalStateException("jump to " + label + " from " + pc + ": " + jump + " is not 0..255");
            }
            return jump;
        }
    }
}
