package io.hyperplane.dataplane.flow;

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
     * translation distinct, and each congruent to its source port modulo the threads, so both
     * directions of every flow reach the same thread. Source ports repeat across environments
     * (forcing searches) and some are below 1024 (never preserved).
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void shouldHandOutDistinctPortsCongruentToTheSourcePort(int threads) {
        FlowTable flows = new FlowTable(FLOWS);
        NatPortAllocator nat = new NatPortAllocator(flows, f -> { }, threads);
        Set<Integer> taken = new HashSet<>();
        for (int i = 0; i < FLOWS; i++) {
            int sourcePort = 900 + (i * 7919) % 3000;
            int eeIp = 0x6440_0000 + i / 3000;
            int port = nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_TCP, REMOTE_IP, REMOTE_PORT, sourcePort);
            assertThat(port).as("flow %d", i).isBetween(NatPortAllocator.MIN_PORT, NatPortAllocator.MAX_PORT);
            assertThat(Math.floorMod(port - sourcePort, threads)).as("port %d for source port %d", port, sourcePort).isZero();
            assertThat(taken.add(port)).as("port %d handed out twice", port).isTrue();
            flows.insert(EE_VNI + i / 3000, Ipv4Header.PROTOCOL_TCP, eeIp, sourcePort, REMOTE_IP, REMOTE_PORT, ENI_VNI, ENI_IP,
                    port, FlowState.TCP_ESTABLISHED, 1000);
        }
    }

    @Test
    void shouldPreserveAFreeSourcePort() {
        NatPortAllocator nat = new NatPortAllocator(new FlowTable(16), f -> { }, 2);
        assertThat(nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 40001)).isEqualTo(40001);
    }

    /** With two threads a class holds half the range: the 32,257th flow to one destination from odd ports finds none. */
    @Test
    void shouldRunDryWhenTheSourcePortsClassIsFull() {
        int oddPorts = (NatPortAllocator.MAX_PORT - 1025) / 2 + 1;
        FlowTable flows = new FlowTable(oddPorts + 1);
        NatPortAllocator nat = new NatPortAllocator(flows, f -> { }, 2);
        for (int i = 0; i < oddPorts; i++) {
            int port = nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 1);
            assertThat(port % 2).isEqualTo(1);
            flows.insert(EE_VNI, Ipv4Header.PROTOCOL_UDP, 0x6440_0001 + i, 1, REMOTE_IP, 53, ENI_VNI, ENI_IP, port,
                    FlowState.UDP_UNREPLIED, 1000);
        }
        assertThat(nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 1)).isEqualTo(NatPortAllocator.EXHAUSTED);
        assertThat(nat.allocate(ENI_VNI, ENI_IP, Ipv4Header.PROTOCOL_UDP, REMOTE_IP, 53, 2) % 2).as("the even class is untouched").isZero();
    }

    @Test
    void shouldRefuseAStrideOutsideTheRange() {
        assertThatThrownBy(() -> new NatPortAllocator(new FlowTable(1), f -> { }, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride 0");
    }
}
