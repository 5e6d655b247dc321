package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MacAddressTest {
    private static final long SEED = 0x3ac_0001L;

    @Test
    void shouldParseEitherCaseIntoLowBits() {
        assertThat(MacAddress.parse("02:00:0a:00:01:05")).isEqualTo(0x0200_0a00_0105L);
        assertThat(MacAddress.parse("DE:AD:BE:EF:00:01")).isEqualTo(0xdead_beef_0001L);
        assertThat(MacAddress.parse("ff:ff:ff:ff:ff:ff")).isEqualTo(MacAddress.BROADCAST);
    }

    @Test
    void shouldFormatLowerCaseWithLeadingZeros() {
        assertThat(MacAddress.format(0x0200_0a00_0105L)).isEqualTo("02:00:0a:00:01:05");
        assertThat(MacAddress.format(0)).isEqualTo("00:00:00:00:00:00");
        assertThat(MacAddress.format(MacAddress.BROADCAST)).isEqualTo("ff:ff:ff:ff:ff:ff");
    }

    @Test
    void shouldRoundTripRandomAddresses() {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < 100_000; i++) {
            long mac = random.nextLong() & MacAddress.BROADCAST;
            assertThat(MacAddress.parse(MacAddress.format(mac))).as("seed %#x case %d", SEED, i).isEqualTo(mac);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''                  | MAC address '': expected six colon-separated hex octets",
        "02:00:0a:00:01      | MAC address '02:00:0a:00:01': expected six colon-separated hex octets",
        "02:00:0a:00:01:05:06| MAC address '02:00:0a:00:01:05:06': expected six colon-separated hex octets",
        "02-00-0a-00-01-05   | MAC address '02-00-0a-00-01-05': expected ':' between octets",
        "02:00:0g:00:01:05   | MAC address '02:00:0g:00:01:05': not hexadecimal",
        "02:00:0a:00:01:5    | MAC address '02:00:0a:00:01:5': expected six colon-separated hex octets",
    })
    void shouldRejectMalformedText(String text, String message) {
        assertThatIllegalArgumentException().isThrownBy(() -> MacAddress.parse(text)).withMessage(message);
    }

    @Test
    void shouldRejectNull() {
        assertThatIllegalArgumentException().isThrownBy(() -> MacAddress.parse(null))
                .withMessage("MAC address 'null': expected six colon-separated hex octets");
    }

    @Test
    void shouldTellGroupAddressesByTheIgBit() {
        assertThat(MacAddress.isMulticast(MacAddress.BROADCAST)).isTrue();
        assertThat(MacAddress.isMulticast(MacAddress.parse("01:00:5e:00:00:01"))).isTrue();
        assertThat(MacAddress.isMulticast(MacAddress.parse("33:33:00:00:00:01"))).isTrue();
        assertThat(MacAddress.isMulticast(MacAddress.parse("02:00:0a:00:01:05"))).isFalse();
        assertThat(MacAddress.isMulticast(MacAddress.parse("fe:ff:ff:ff:ff:ff"))).isFalse();
        assertThat(MacAddress.isMulticast(MacAddress.parse("00:00:00:00:00:01"))).as("only the first octet counts").isFalse();
    }
}
