package io.hyperplane.cli;

import io.hyperplane.lab.fabric.Outside;
import picocli.CommandLine.Option;

/**
 * {@code --uplink IFACE --uplink-address CIDR --uplink-gateway IP}: the internet router's outside is
 * a real interface (moved into its namespace) instead of the simulated internet; without them, the
 * simulated internet (DESIGN.md §11).
 */
final class UplinkOptions {
    @Option(names = "--uplink", paramLabel = "IFACE",
            description = "A real deployment's way out: the internet router takes this interface instead of simulating the internet "
                    + "(needs --uplink-address and --uplink-gateway; the upstream must route the Elastic IP range 198.51.100.0/24, "
                    + "or your own, to that address).")
    String device;

    @Option(names = "--uplink-address", paramLabel = "ADDRESS/PREFIX", description = "The internet router's address on the uplink, e.g. 203.0.113.2/24.")
    String address;

    @Option(names = "--uplink-gateway", paramLabel = "IP", description = "The upstream router on the uplink (the internet router's default route).")
    String gateway;

    Outside outside() {
        if (device == null) {
            if (address != null || gateway != null) {
                throw new IllegalArgumentException("--uplink-address and --uplink-gateway need --uplink IFACE");
            }
            return Outside.SIMULATED;
        }
        if (address == null || gateway == null) {
            throw new IllegalArgumentException("--uplink " + device + " needs --uplink-address ADDRESS/PREFIX and --uplink-gateway IP");
        }
        return new Outside.Uplink(device, null, address, gateway);
    }
}
