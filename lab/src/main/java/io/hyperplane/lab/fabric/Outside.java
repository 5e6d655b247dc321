package io.hyperplane.lab.fabric;

import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.Objects;

/**
 * What the fabric's internet router has on its outside (DESIGN.md §11).
 * <ul>
 *   <li>{@link #NONE}: no internet router at all (the fabric as it was before the way out);</li>
 *   <li>{@link #SIMULATED}: the simulated internet, all of it namespaces of ours: the hosts'
 *       namespace with 203.0.113.10 (whoami, echo) and 203.0.113.53 (the internet's DNS);</li>
 *   <li>{@link Uplink}: a real interface, moved into the internet router's namespace, with an
 *       address and a default gateway on the real network (a real deployment, whose upstream
 *       routes the Elastic IP range to that address).</li>
 * </ul>
 */
public sealed interface Outside {
    Outside NONE = new None();
    Outside SIMULATED = new Simulated();

    record None() implements Outside {
    }

    record Simulated() implements Outside {
    }

    /**
     * A real uplink.
     *
     * @param device        the interface, in {@code fromNamespace} (null: the machine's own) until the
     *                      fabric moves it into the internet router's namespace; {@code lab down} gives a
     *                      physical one back to the machine (the kernel does, when the namespace goes),
     *                      and a veth goes with it
     * @param fromNamespace where the interface is before the fabric takes it, or null for the machine's own
     * @param address       the router's address on it, with prefix length ("203.0.113.2/24")
     * @param gateway       the upstream router (the default route)
     */
    record Uplink(String device, String fromNamespace, String address, String gateway) implements Outside {
        public Uplink {
            if (device == null || !device.matches("[a-zA-Z0-9_.-]{1,15}")) {
                throw new IllegalArgumentException("uplink device '" + device + "': an interface name of 1-15 letters, digits, '_', '.', '-'");
            }
            if (fromNamespace != null && !fromNamespace.matches("[a-zA-Z0-9_.-]{1,64}")) {
                throw new IllegalArgumentException("uplink namespace '" + fromNamespace + "': a namespace name");
            }
            int slash = address == null ? -1 : address.indexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException("uplink address " + address + ": an address with its prefix length, e.g. 203.0.113.2/24");
            }
            int length = Ipv4Cidr.parse("0.0.0.0" + address.substring(slash)).prefixLength();
            address = Ipv4Address.format(Ipv4Address.parse(address.substring(0, slash))) + "/" + length;
            gateway = Ipv4Address.format(Ipv4Address.parse(Objects.requireNonNull(gateway, "uplink gateway")));
        }
    }
}
