package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Ipv4AddressTest {
    private static final long SEED = 0x1b4_0001L;

    @Test
    void shouldParseIntoNetworkOrderInt() {
        assertThat(Ipv4Address.parse("10.0.1.5")).isEqualTo(0x0a00_0105);
        assertThat(Ipv4Address.parse("0.0.0.0")).isZero();
        assertThat(Ipv4Address.parse("255.255.255.255")).isEqualTo(-1);
        assertThat(Ipv4Address.parse("192.168.0.1")).isEqualTo(0xc0a8_0001);
    }

    @Test
    void shouldFormatHighOctetsUnsigned() {
        assertThat(Ipv4Address.format(0xc0a8_0001)).isEqualTo("192.168.0.1");
        assertThat(Ipv4Address.format(-1)).isEqualTo("255.255.255.255");
        assertThat(Ipv4Address.format(0)).isEqualTo("0.0.0.0");
    }

    @Test
    void shouldRoundTripRandomAddresses() {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < 100_000; i++) {
            int address = random.nextInt();
            String text = Ipv4Address.format(address);
            assertThat(Ipv4Address.parse(text)).as("seed %#x case %d: %s", SEED, i, text).isEqualTo(address);
            assertThat(Ipv4Address.format(Ipv4Address.parse(text))).isEqualTo(text);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1.2.3       | IPv4 address '1.2.3': expected four dot-separated octets",
        "1.2.3.4.5   | IPv4 address '1.2.3.4.5': expected four dot-separated octets",
        "1.2.3.4.    | IPv4 address '1.2.3.4.': expected four dot-separated octets",
        ".1.2.3      | IPv4 address '.1.2.3': expected four dot-separated octets",
        "1..2.3      | IPv4 address '1..2.3': expected four dot-separated octets",
        "256.0.0.1   | IPv4 address '256.0.0.1': octet above 255",
        "1.2.3.1000  | IPv4 address '1.2.3.1000': octet above 255",
        "a.b.c.d     | IPv4 address 'a.b.c.d': unexpected character 'a'",
        "1.2.3.-4    | IPv4 address '1.2.3.-4': unexpected character '-'",
        "'1.2.3.4 '  | IPv4 address '1.2.3.4 ': unexpected character ' '",
    })
    void shouldRejectMalformedText(String text, String message) {
        assertThatIllegalArgumentException().isThrownBy(() -> Ipv4Address.parse(text)).withMessage(message);
    }

    @Test
    void shouldRejectEmptyAndNull() {
        assertThatIllegalArgumentException().isThrownBy(() -> Ipv4Address.parse(""))
                .withMessage("IPv4 address '': expected four dot-separated octets");
        assertThatIllegalArgumentException().isThrownBy(() -> Ipv4Address.parse(null))
                .withMessage("IPv4 address: missing");
    }

    @Test
    void shouldBuildMasksForEveryPrefixLength() {
        assertThat(Ipv4Address.mask(0)).isZero();
        assertThat(Ipv4Address.mask(8)).isEqualTo(0xff00_0000);
        assertThat(Ipv4Address.mask(31)).isEqualTo(0xffff_fffe);
        assertThat(Ipv4Address.mask(32)).isEqualTo(-1);
        for (int prefix = 0; prefix <= 32; prefix++) {
            assertThat(Integer.bitCount(Ipv4Address.mask(prefix))).isEqualTo(prefix);
            assertThat(Integer.numberOfTrailingZeros(Ipv4Address.mask(prefix))).isEqualTo(32 - prefix);
        }
    }
}
