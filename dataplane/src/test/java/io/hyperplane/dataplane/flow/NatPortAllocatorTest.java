package io.hyperplane.dataplane.flow;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.packet.Ipv4Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NatPortAllocatorTest {
    private static final int ENI_VNI = 0x10_0001;
    private static final int ENI_IP = 0x0A00_0105; // 10.0.1.5
    private static final int REMOTE_IP = 0x0A00_0264; // 10.0.2.100
    private static final int REMOTE_PORT = 5432;
    private static final int EE_VNI = 0x20_0000;
    private static final int FLOWS = 10_000;

    /**
     * 10,000 concurrent flows from many sources through one ENI to one destination: every
     * translation distinct, and each steering to its source port's thread, so both directions of
     * every flow reach the same thread. Source ports repeat across environments (forcing
     * searches), some are below 1024 (never preserved), and all are even, as Linux's connect()
     * picks them.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void shouldHandOutDistinctPortsThatSteerLikeTheSourcePort(int threads) {
        ThreadSteering steering = new ThreadSteering(threads);
        FlowTable flows = new FlowTable(FLOWS);
        NatPortAllocator nat = new NatPortAllocator(flows, f -> { }, steering);
        Set<Integer> taken = new HashSet<>();
        int[] perThread = new int[threads];
        for (int i = 0; i < FLOWS; i++) {
            int sourcePort = 900 + 2 * ((i * 7919) % 3000);
            int environment = i / 3000;
            int port = nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_TCP, REMOTE_IP, REMOTE_PORT, sourcePort);
            assertThat(port).as("flow %d", i).isBetween(NatPortAllocator.MIN_PORT, NatPortAllocator.MAX_PORT);
            assertThat(steering.thread(REMOTE_PORT + port)).as("port %d for source port %d", port, sourcePort)
                    .isEqualTo(steering.thread(REMOTE_PORT + sourcePort));
            assertThat(taken.add(port)).as("port %d handed out twice", port).isTrue();
            perThread[steering.thread(REMOTE_PORT + sourcePort)]++;
            flows.insert(EE_VNI + environment, Ipv4Header.PROTOCOL_TCP, 0x6440_0000 + environment, sourcePort, REMOTE_IP, REMOTE_PORT,
                    ENI_VNI, ENI_IP, port, FlowState.TCP_ESTABLISHED, 1000);
        }
        for (int t = 0; t < threads; t++) {
            assertThat(perThread[t]).as("thread %d's share of even source ports", t).isBetween(FLOWS / threads * 8 / 10, FLOWS / threads * 12 / 10);
        }
    }

    /** Two threads of a node owning blocks 3 and 9 only: ports from those blocks, still steering like the source. */
    @Test
    void shouldHandOutOnlyPortsOfTheOwnedBlocksThatSteerLikeTheSourcePort() {
        ThreadSteering steering = new ThreadSteering(2);
        FlowTable flows = new FlowTable(FLOWS);
        NatPortAllocator nat = new NatPortAllocator(flows, f -> { }, steering);
        nat.ownBlocks(1 << 3 | 1 << 9);
        Set<Integer> taken = new HashSet<>();
        for (int i = 0; i < 3000; i++) {
            int sourcePort = 1024 + i * 13 % 60_000;
            boolean preservable = (FleetPlan.blockOf(sourcePort) == 3 || FleetPlan.blockOf(sourcePort) == 9) && !taken.contains(sourcePort);
            int port = nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, REMOTE_PORT, sourcePort);
            assertThat(FleetPlan.blockOf(port)).as("port %d", port).isIn(3, 9);
            assertThat(steering.thread(REMOTE_PORT + port)).isEqualTo(steering.thread(REMOTE_PORT + sourcePort));
            if (preservable) {
                assertThat(port).as("an owned, free source port is kept").isEqualTo(sourcePort);
            }
            assertThat(taken.add(port)).isTrue();
            flows.insert(EE_VNI, Ipv4Header.PROTOCOL_UDP, 0x6440_0000 + i, sourcePort, REMOTE_IP, REMOTE_PORT, ENI_VNI, ENI_IP, port,
                    FlowState.UDP_UNREPLIED, 1000);
        }
    }

    @Test
    void shouldRefuseAnEmptyOrOutOfRangeBlockSet() {
        NatPortAllocator nat = new NatPortAllocator(new FlowTable(16), f -> { });
        assertThatThrownBy(() -> nat.ownBlocks(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-empty");
        assertThatThrownBy(() -> nat.ownBlocks(1 << 16)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldPreserveAFreeSourcePort() {
        NatPortAllocator nat = new NatPortAllocator(new FlowTable(16), f -> { }, new ThreadSteering(2));
        assertThat(nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 40001)).isEqualTo(40001);
    }

    /** Every port that steers to the source's thread taken for one destination: none left there, the other thread's ports untouched. */
    @Test
    void shouldRunDryWhenEveryPortOfTheThreadIsTaken() {
        ThreadSteering steering = new ThreadSteering(2);
        int thread = steering.thread(53 + 1);
        int ofThread = 0;
        for (int port = NatPortAllocator.MIN_PORT; port <= NatPortAllocator.MAX_PORT; port++) {
            ofThread += steering.thread(53 + port) == thread ? 1 : 0;
        }
        assertThat(ofThread).as("about half the range").isBetween(NatPortAllocator.RANGE * 45 / 100, NatPortAllocator.RANGE * 55 / 100);
        FlowTable flows = new FlowTable(ofThread + 1);
        NatPortAllocator nat = new NatPortAllocator(flows, f -> { }, steering);
        for (int i = 0; i < ofThread; i++) {
            int port = nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 1);
            assertThat(port).isNotEqualTo(NatPortAllocator.EXHAUSTED);
            flows.insert(EE_VNI, Ipv4Header.PROTOCOL_UDP, 0x6440_0001 + i, 1, REMOTE_IP, 53, ENI_VNI, ENI_IP, port,
                    FlowState.UDP_UNREPLIED, 1000);
        }
        assertThat(nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 1)).isEqualTo(NatPortAllocator.EXHAUSTED);
        int otherSource = 2;
        while (steering.thread(53 + otherSource) == thread) {
            otherSource++;
        }
        assertThat(nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, otherSource))
                .as("the other thread's ports are untouched").isNotEqualTo(NatPortAllocator.EXHAUSTED);
    }

    @Test
    void shouldSpreadSourcePortsOfOneParityOverTheThreads() {
        ThreadSteering steering = new ThreadSteering(2);
        int[] perThread = new int[2];
        for (int port = 32768; port < 61000; port += 2) { // Linux's ephemeral range, connect()'s even half
            perThread[steering.thread(port + 80)]++;
        }
        assertThat(perThread[0]).isBetween(perThread[1] * 9 / 10, perThread[1] * 11 / 10);
    }

    @Test
    void shouldRefuseAnImpossibleNumberOfThreads() {
        assertThatThrownBy(() -> new ThreadSteering(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads 0");
    }
}
