package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.packet.Ipv4Address;

import java.util.stream.Collectors;

/**
 * A VPC's internet gateway as it acts on packets (VPC user guide, "Enable internet access"): a
 * one-to-one NAT between each private address and its public one, both ways, on the link to the
 * internet router, in the VPC router's namespace. Inbound, the public destination becomes the
 * private one before routing, so the packet then meets the subnet's network ACL (forward hook) and
 * the instance's own security groups (in its namespace), as on AWS; outbound, the private source
 * becomes the public one as it leaves. What has no mapping the seal drops ({@link UnderlaySeal}:
 * no_public_ip, from_internet), so nothing here needs a default.
 */
final class GatewayNat {
    static final String TABLE = "hp_igw_nat";

    private GatewayNat() {
    }

    /** The table, replacing any earlier one; empty when the VPC has no gateway (or no public address). */
    static String render(FabricState.VpcNetwork vpc, boolean linked) {
        StringBuilder s = new StringBuilder();
        s.append("add table ip ").append(TABLE).append('\n');
        s.append("delete table ip ").append(TABLE).append('\n');
        s.append("table ip ").append(TABLE).append(" {\n");
        if (linked && !vpc.publicAddresses().isEmpty()) {
            String link = "\"" + InternetRouter.VPC_LINK + "\"";
            // Normalised, as everything that reaches a rule is.
            String toPrivate = vpc.publicAddresses().stream().map(a -> ip(a.publicIp()) + " : " + ip(a.privateIp())).collect(Collectors.joining(", "));
            String toPublic = vpc.publicAddresses().stream().map(a -> ip(a.privateIp()) + " : " + ip(a.publicIp())).collect(Collectors.joining(", "));
            s.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n");
            s.append("    iifname ").append(link).append(" dnat to ip daddr map { ").append(toPrivate).append(" }\n  }\n");
            s.append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
            s.append("    oifname ").append(link).append(" snat to ip saddr map { ").append(toPublic).append(" }\n  }\n");
        }
        s.append("}\n");
        return s.toString();
    }

    private static String ip(String address) {
        return Ipv4Address.format(Ipv4Address.parse(address));
    }
}
