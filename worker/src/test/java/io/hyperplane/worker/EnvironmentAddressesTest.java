package io.hyperplane.worker;

import io.hyperplane.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EnvironmentAddressesTest {
    @Test
    void shouldHandOutAddressesNeverUsedFirstThenTheLeastRecentlyReleased() {
        EnvironmentAddresses addresses = new EnvironmentAddresses();
        String a = addresses.take();
        String b = addresses.take();
        assertThat(a).isEqualTo("100.64.0.16");
        assertThat(b).isEqualTo("100.64.0.17");
        addresses.release(b);
        addresses.release(a);
        assertThat(addresses.take()).as("fresh addresses before released ones").isEqualTo("100.64.0.18");
    }

    @Test
    void shouldKeepEveryAddressInsideTheSharedRangeThroughMillionsOfEnvironments() {
        EnvironmentAddresses addresses = new EnvironmentAddresses();
        int range = EnvironmentAddresses.LAST - EnvironmentAddresses.FIRST + 1;
        ArrayDeque<String> live = new ArrayDeque<>();
        Set<String> held = new HashSet<>();
        for (int i = 0; i < range + 1_000_000; i++) { // the whole range, then a million more cold starts
            String ip = addresses.take();
            int n = Ipv4Address.parse(ip);
            if (n < EnvironmentAddresses.FIRST || n > EnvironmentAddresses.LAST || !held.add(ip)) {
                throw new AssertionError("took " + ip + " (held: " + held.contains(ip) + ")");
            }
            live.addLast(ip);
            if (live.size() > 100) {
                String gone = live.removeFirst();
                held.remove(gone);
                addresses.release(gone);
            }
        }
        assertThat(held).hasSize(100);
    }

    @Test
    void shouldRefuseWhenEveryAddressIsHeldAndIgnoreAddressesItNeverGave() {
        EnvironmentAddresses addresses = new EnvironmentAddresses();
        int range = EnvironmentAddresses.LAST - EnvironmentAddresses.FIRST + 1;
        for (int i = 0; i < range; i++) {
            addresses.take();
        }
        addresses.release("100.64.0.5");
        addresses.release(null);
        assertThatThrownBy(addresses::take).isInstanceOf(IllegalStateException.class)
                .hasMessage("environment addresses: all 4194287 (100.64.0.16 to 100.127.255.254) are held");
        addresses.release("100.100.0.1");
        assertThat(addresses.take()).isEqualTo("100.100.0.1");
    }
}
