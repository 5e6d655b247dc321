package io.hyperplane.cli;

import io.hyperplane.lab.fabric.Outside;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UplinkOptionsTest {
    @Test
    void shouldSimulateTheInternetUnlessAnUplinkIsNamed() {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs();
        assertThat(up.uplink.outside()).isEqualTo(Outside.SIMULATED);
    }

    @Test
    void shouldTakeARealUplinkWithItsAddressAndGateway() {
        ServerCommand server = new ServerCommand();
        new CommandLine(server).parseArgs("--data-dir", "/tmp/unused", "--uplink", "eth1", "--uplink-address", "203.0.113.2/24",
                "--uplink-gateway", "203.0.113.1");
        assertThat(server.uplink.outside()).isEqualTo(new Outside.Uplink("eth1", null, "203.0.113.2/24", "203.0.113.1"));
    }

    @Test
    void shouldRefuseAnUplinkWithoutItsAddressSayingWhatIsMissing() {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs("--uplink", "eth1");
        assertThatThrownBy(up.uplink::outside).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--uplink eth1 needs --uplink-address ADDRESS/PREFIX and --uplink-gateway IP");
    }

    @Test
    void shouldRefuseAnAddressWithoutItsPrefixLengthAndABadDeviceName() {
        assertThatThrownBy(() -> new Outside.Uplink("eth1", null, "203.0.113.2", "203.0.113.1"))
                .hasMessageContaining("an address with its prefix length");
        assertThatThrownBy(() -> new Outside.Uplink("eth1; reboot", null, "203.0.113.2/24", "203.0.113.1"))
                .hasMessageContaining("an interface name");
    }
}
