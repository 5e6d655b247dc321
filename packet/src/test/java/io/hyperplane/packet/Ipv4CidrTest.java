package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Ipv4CidrTest {

    @Test
    void shouldParseNetworkAndPrefix() {
        Ipv4Cidr cidr = Ipv4Cidr.parse("10.0.1.0/24");

        assertThat(cidr.network()).isEqualTo(0x0a00_0100);
        assertThat(cidr.prefixLength()).isEqualTo(24);
        assertThat(cidr.mask()).isEqualTo(0xffff_ff00);
        assertThat(cidr).hasToString("10.0.1.0/24").isEqualTo(new Ipv4Cidr(0x0a00_0100, 24));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "10.0.1.1/24     | cidr 10.0.1.1/24: host bits are set",
        "10.0.0.1/31     | cidr 10.0.0.1/31: host bits are set",
        "0.0.0.1/0       | cidr 0.0.0.1/0: host bits are set",
        "10.0.0.0/33     | cidr '10.0.0.0/33': prefix length must be 0..32",
        "10.0.0.0/-1     | cidr '10.0.0.0/-1': prefix length must be 0..32",
        "10.0.0.0/x      | cidr '10.0.0.0/x': prefix length is not a number",
        "10.0.0.0/       | cidr '10.0.0.0/': prefix length is not a number",
        "10.0.0.0        | cidr '10.0.0.0': expected address/prefix-length",
        "10.0.0/8        | IPv4 address '10.0.0': expected four dot-separated octets",
        "/8              | IPv4 address '': expected four dot-separated octets",
    })
    void shouldRejectWithMessageNamingTheCheck(String text, String message) {
        assertThatIllegalArgumentException().isThrownBy(() -> Ipv4Cidr.parse(text)).withMessage(message);
    }

    @Test
    void shouldRejectNullAndBadRecordComponents() {
        assertThatIllegalArgumentException().isThrownBy(() -> Ipv4Cidr.parse(null)).withMessage("cidr: missing");
        assertThatIllegalArgumentException().isThrownBy(() -> new Ipv4Cidr(0x0a00_0000, 33))
                .withMessage("cidr 10.0.0.0/33: prefix length must be 0..32");
        assertThatIllegalArgumentException().isThrownBy(() -> new Ipv4Cidr(0x0a00_0000, -1))
                .withMessage("cidr 10.0.0.0/-1: prefix length must be 0..32");
        assertThatIllegalArgumentException().isThrownBy(() -> new Ipv4Cidr(0x0a00_0001, 8))
                .withMessage("cidr 10.0.0.1/8: host bits are set");
    }

    @Test
    void shouldTreatSlashZeroAsEverything() {
        Ipv4Cidr all = Ipv4Cidr.parse("0.0.0.0/0");

        assertThat(all.mask()).isZero();
        assertThat(all.size()).isEqualTo(1L << 32);
        assertThat(all.last()).isEqualTo(-1);
        assertThat(all.contains(0)).isTrue();
        assertThat(all.contains(-1)).isTrue();
        assertThat(all.contains(0x0a00_0105)).isTrue();
        assertThat(all.contains(Ipv4Cidr.parse("10.0.0.0/8"))).isTrue();
        assertThat(all.overlaps(Ipv4Cidr.parse("255.255.255.255/32"))).isTrue();
    }

    @Test
    void shouldTreatSlashThirtyTwoAsOneAddress() {
        Ipv4Cidr host = Ipv4Cidr.parse("10.0.1.5/32");

        assertThat(host.size()).isEqualTo(1);
        assertThat(host.last()).isEqualTo(host.network());
        assertThat(host.contains(0x0a00_0105)).isTrue();
        assertThat(host.contains(0x0a00_0104)).isFalse();
        assertThat(host.contains(0x0a00_0106)).isFalse();
        assertThat(host.contains(host)).isTrue();
    }

    @Test
    void shouldContainExactlyTheAddressesFromNetworkToLast() {
        Ipv4Cidr cidr = Ipv4Cidr.parse("172.16.32.0/20");

        assertThat(cidr.last()).isEqualTo(Ipv4Address.parse("172.16.47.255"));
        assertThat(cidr.size()).isEqualTo(4096);
        assertThat(cidr.contains(cidr.network())).isTrue();
        assertThat(cidr.contains(cidr.last())).isTrue();
        assertThat(cidr.contains(cidr.network() - 1)).isFalse();
        assertThat(cidr.contains(cidr.last() + 1)).isFalse();
        assertThat(Ipv4Cidr.parse("128.0.0.0/1").last()).isEqualTo(-1);
        assertThat(Ipv4Cidr.parse("128.0.0.0/1").contains(0x8000_0000)).isTrue();
        assertThat(Ipv4Cidr.parse("128.0.0.0/1").contains(0x7fff_ffff)).isFalse();
    }

    @Test
    void shouldContainOnlyPrefixesInside() {
        Ipv4Cidr vpc = Ipv4Cidr.parse("10.0.0.0/16");

        assertThat(vpc.contains(Ipv4Cidr.parse("10.0.1.0/24"))).isTrue();
        assertThat(vpc.contains(Ipv4Cidr.parse("10.0.0.0/16"))).isTrue();
        assertThat(vpc.contains(Ipv4Cidr.parse("10.0.0.0/8"))).isFalse();
        assertThat(vpc.contains(Ipv4Cidr.parse("10.1.0.0/24"))).isFalse();
    }

    @Test
    void shouldOverlapSymmetricallyWhenOneContainsTheOther() {
        Ipv4Cidr a = Ipv4Cidr.parse("10.0.0.0/16");
        Ipv4Cidr inside = Ipv4Cidr.parse("10.0.255.0/24");
        Ipv4Cidr adjacent = Ipv4Cidr.parse("10.1.0.0/16");

        assertThat(a.overlaps(inside)).isTrue();
        assertThat(inside.overlaps(a)).isTrue();
        assertThat(a.overlaps(a)).isTrue();
        assertThat(a.overlaps(adjacent)).isFalse();
        assertThat(adjacent.overlaps(a)).isFalse();
        assertThat(Ipv4Cidr.parse("10.0.0.0/31").overlaps(Ipv4Cidr.parse("10.0.0.2/31"))).isFalse();
    }
}
