package io.hyperplane.node.io;

import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.flow.ThreadSteering;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.IcmpHeader;
import io.hyperplane.packet.Ipv4Header;
import io.hyperplane.packet.TcpHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The steering program run by a small classic-BPF interpreter over crafted datagrams (the
 * kernel's semantics for the instructions it uses: an out-of-bounds load returns 0). The real
 * kernel runs it in {@code ThreadedNodeTest}.
 */
class SteeringProgramTest {
    private static final int OTHER_PORT = 5432;

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void shouldSendBothDirectionsOfAFlowWhoseNatPortSteersLikeItsSourcePortToOneThread(int threads) {
        SteeringProgram program = SteeringProgram.forThreads(threads);
        ThreadSteering steering = new ThreadSteering(threads);
        SplittableRandom random = new SplittableRandom(17);
        for (int i = 0; i < 2000; i++) {
            int sourcePort = random.nextInt(65536);
            int remotePort = random.nextInt(65536);
            int natPort = 1024 + random.nextInt(64512);
            while (steering.thread(remotePort + natPort) != steering.thread(remotePort + sourcePort)) {
                natPort = 1024 + random.nextInt(64512); // as the allocator picks: a port of the source port's thread
            }
            boolean tcp = random.nextBoolean();
            ByteBuffer out = tcp
                    ? TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, sourcePort, RES1, remotePort, TcpHeader.SYN, 0)
                    : TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, sourcePort, RES1, remotePort, 10);
            ByteBuffer back = tcp
                    ? TestFrames.tcp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, remotePort, ENI_IP, natPort, TcpHeader.ACK, 5)
                    : TestFrames.udp(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, remotePort, ENI_IP, natPort, 3);
            int thread = run(program, out);
            assertThat(thread).isEqualTo(steering.thread(sourcePort + remotePort));
            assertThat(run(program, back)).as("reply of flow %d", i).isEqualTo(thread);
        }
    }

    /** A fleet message goes to the thread its header names (mod the group's size), whatever follows. */
    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void shouldSteerAFleetMessageByItsThreadField(int threads) {
        SteeringProgram program = SteeringProgram.forThreads(threads);
        for (int thread = 0; thread < 5; thread++) {
            ByteBuffer message = ByteBuffer.allocate(FleetMessage.HEADER_SIZE);
            FleetMessage.header(message, 0, FleetMessage.ACK, 0, thread, 1, 7, 99, 0);
            assertThat(run(program, message)).isEqualTo(thread % threads);
        }
    }

    /** Linux's connect() picks even ports: one client's connections to one port must still spread. */
    @Test
    void shouldSpreadAClientsEvenPortsOverTheThreads() {
        SteeringProgram program = SteeringProgram.forThreads(2);
        int[] perThread = new int[2];
        for (int port = 40_000; port < 42_000; port += 2) {
            perThread[run(program, TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, port, RES1, 80, TcpHeader.SYN, 0))]++;
        }
        assertThat(perThread[0]).as("of 1,000").isBetween(400, 600);
    }

    @Test
    void shouldSteerPingsByIdentifierAndErrorsByTheEmbeddedFlow() {
        SteeringProgram program = SteeringProgram.forThreads(3);
        ThreadSteering steering = new ThreadSteering(3);
        int translated = 7002;
        while (steering.thread(translated) != steering.thread(7001)) {
            translated++;
        }
        ByteBuffer request = TestFrames.icmpEcho(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, RES1, IcmpHeader.ECHO_REQUEST, 7001, 1);
        ByteBuffer reply = TestFrames.icmpEcho(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, ENI_IP, IcmpHeader.ECHO_REPLY, translated, 1);
        assertThat(run(program, request)).isEqualTo(steering.thread(7001));
        assertThat(run(program, reply)).isEqualTo(steering.thread(7001));

        ByteBuffer sent = TestFrames.udp(SUBNET1_VNI, ENI_MAC, RES1_MAC, ENI_IP, 40_001, RES1, OTHER_PORT, 10);
        ByteBuffer unreachable = TestFrames.icmpError(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 3, 3, sent, 8);
        assertThat(run(program, unreachable)).isEqualTo(steering.thread(40_001 + OTHER_PORT));
        ByteBuffer exceeded = TestFrames.icmpError(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 11, 0,
                TestFrames.tcp(SUBNET1_VNI, ENI_MAC, RES1_MAC, ENI_IP, 40_002, RES1, OTHER_PORT, TcpHeader.SYN, 0), 8);
        assertThat(run(program, exceeded)).isEqualTo(steering.thread(40_002 + OTHER_PORT));
        ByteBuffer pingLost = TestFrames.icmpError(SUBNET1_VNI, RES1_MAC, ENI_MAC, RES1, 3, 1, reply, 8);
        assertThat(run(program, pingLost)).isEqualTo(steering.thread(translated));
    }

    @Test
    void shouldSendArpNonIpv4FragmentsAndShortDatagramsToThreadZero() {
        SteeringProgram program = SteeringProgram.forThreads(4);
        assertThat(run(program, TestFrames.arp(SUBNET1_VNI, RES1_MAC, ENI_MAC, ArpPacket.REPLY, RES1_MAC, RES1, ENI_MAC, ENI_IP))).isZero();
        ByteBuffer ipv6 = TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 1001, RES1, 2002, 0);
        ipv6.putShort(20, (short) 0x86dd);
        assertThat(run(program, ipv6)).isZero();
        ByteBuffer fragment = TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 1001, RES1, 2002, 0);
        fragment.putShort(22 + 6, (short) 185); // a later fragment: its "ports" are payload
        assertThat(run(program, fragment)).isZero();
        ByteBuffer gre = TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 1001, RES1, 2002, 0);
        gre.put(22 + 9, (byte) 47);
        assertThat(run(program, gre)).isZero();
        ByteBuffer whole = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 1001, RES1, 2002, TcpHeader.SYN, 0);
        for (int length = 0; length < 22 + 20 + 4; length++) {
            assertThat(run(program, whole.slice(0, length))).as("%d bytes", length).isZero();
        }
    }

    @Test
    void shouldReadPortsPastIpOptions() {
        SteeringProgram program = SteeringProgram.forThreads(2);
        int sourcePort = 1000;
        while (new ThreadSteering(2).thread(sourcePort + 2001) != 1) {
            sourcePort++;
        }
        ByteBuffer plain = TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, sourcePort, RES1, 2001, 8);
        ByteBuffer withOptions = ByteBuffer.allocate(plain.limit() + 4);
        withOptions.put(0, plain, 0, 42).put(46, plain, 42, plain.limit() - 42);
        withOptions.put(22, (byte) 0x46); // IHL 6: four bytes of options (zero: end of list)
        assertThat(run(program, plain)).isEqualTo(1);
        assertThat(run(program, withOptions)).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 8})
    void shouldSteerEachWakeUpToItsThreadAndRecogniseIt(int threads) {
        SteeringProgram program = SteeringProgram.forThreads(threads);
        for (int t = 0; t < threads; t++) {
            ByteBuffer wake = SteeringProgram.wakeDatagram(t, threads);
            assertThat(run(program, wake)).isEqualTo(t);
            assertThat(SteeringProgram.isWake(wake, 0, wake.capacity())).isTrue();
        }
        ByteBuffer vxlan = TestFrames.udp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 1000, RES1, 2001, 0);
        assertThat(vxlan.limit()).isGreaterThanOrEqualTo(SteeringProgram.WAKE_LENGTH);
        assertThat(SteeringProgram.isWake(vxlan, 0, SteeringProgram.WAKE_LENGTH)).isFalse();
    }

    @Test
    void shouldRefuseAGroupOfOne() {
        assertThatThrownBy(() -> SteeringProgram.forThreads(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("threads 1");
    }

    /** The kernel's classic BPF (net/core/filter.c, sk_run_filter), for the instructions the program uses. */
    static int run(SteeringProgram program, ByteBuffer packet) {
        ByteBuffer code = ByteBuffer.wrap(program.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        int length = packet.limit();
        long a = 0;
        long x = 0;
        long[] memory = new long[16];
        for (int pc = 0; pc < program.length(); pc++) {
            int at = pc * SteeringProgram.INSTRUCTION_SIZE;
            int op = Short.toUnsignedInt(code.getShort(at));
            int jt = Byte.toUnsignedInt(code.get(at + 2));
            int jf = Byte.toUnsignedInt(code.get(at + 3));
            long k = Integer.toUnsignedLong(code.getInt(at + 4));
            switch (op) {
                case SteeringProgram.LD_H_ABS, SteeringProgram.LD_H_IND -> {
                    long offset = k + (op == SteeringProgram.LD_H_IND ? x : 0);
                    if (offset + 2 > length) {
                        return 0;
                    }
                    a = Short.toUnsignedInt(packet.getShort((int) offset));
                }
                case SteeringProgram.LD_B_ABS, SteeringProgram.LD_B_IND -> {
                    long offset = k + (op == SteeringProgram.LD_B_IND ? x : 0);
                    if (offset + 1 > length) {
                        return 0;
                    }
                    a = Byte.toUnsignedInt(packet.get((int) offset));
                }
                case SteeringProgram.LDX_B_MSH -> {
                    if (k + 1 > length) {
                        return 0;
                    }
                    x = 4L * (packet.get((int) k) & 0xf);
                }
                case SteeringProgram.ST -> memory[(int) k] = a;
                case SteeringProgram.LDX_MEM -> x = memory[(int) k];
                case SteeringProgram.ADD_X -> a = (a + x) & 0xffff_ffffL;
                case SteeringProgram.MUL_K -> a = (a * k) & 0xffff_ffffL;
                case SteeringProgram.RSH_K -> a = a >>> k;
                case SteeringProgram.MOD_K -> a = a % k;
                case SteeringProgram.JEQ_K -> pc += a == k ? jt : jf;
                case SteeringProgram.JSET_K -> pc += (a & k) != 0 ? jt : jf;
                case SteeringProgram.RET_K -> {
                    return (int) k;
                }
                case SteeringProgram.RET_A -> {
                    return (int) a;
                }
                default -> throw new AssertionError("opcode 0x" + Integer.toHexString(op) + " at " + pc);
            }
        }
        throw new AssertionError("fell off the end of the program");
    }
}
