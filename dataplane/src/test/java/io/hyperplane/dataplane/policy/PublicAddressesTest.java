package io.hyperplane.dataplane.policy;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class PublicAddressesTest {

    @Test
    void shouldAgreeWithTheContractAtEveryRangesEdgesAndOnRandomAddresses() {
        for (Ipv4Cidr range : Internet.NOT_PUBLIC) {
            int first = range.network();
            int last = first | ~range.mask();
            for (int address : new int[] {first - 1, first, first + 1, last - 1, last, last + 1}) {
                assertThat(PublicAddresses.isPublic(address)).as(Ipv4Address.format(address)).isEqualTo(Internet.isPublic(address));
            }
        }
        SplittableRandom random = new SplittableRandom(0x9ab11c);
        for (int i = 0; i < 1_000_000; i++) {
            int address = random.nextInt();
            assertThat(PublicAddresses.isPublic(address)).isEqualTo(Internet.isPublic(address));
        }
    }

    @Test
    void shouldCallTheSimulatedInternetPublicAndPrivateRangesNot() {
        assertThat(PublicAddresses.isPublic(Ipv4Address.parse(Internet.HOST))).isTrue();
        assertThat(PublicAddresses.isPublic(Ipv4Address.parse("198.51.100.7"))).isTrue();
        assertThat(PublicAddresses.isPublic(Ipv4Address.parse(Internet.SERVICE_RESOLVER))).isTrue();
        for (String address : new String[] {"10.0.1.4", "172.16.0.1", "172.31.255.255", "192.168.0.1", "198.18.0.1", "198.19.255.255",
                "100.64.0.1", "127.0.0.1", "169.254.169.254", "224.0.0.1", "255.255.255.255", "0.0.0.0"}) {
            assertThat(PublicAddresses.isPublic(Ipv4Address.parse(address))).as(address).isFalse();
        }
    }
}
