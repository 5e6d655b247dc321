package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;

import java.util.List;

/**
 * A VPC's network ACLs as nftables chains in its router namespace, on the forward hook: traffic
 * leaving a subnet's bridge meets that subnet's outbound rules, traffic entering one meets its
 * inbound rules. Stateless (no connection tracking), numbered, first match wins, then deny, as in
 * the VPC user guide. An allow is a "return" (not "accept", which would end the hook before the
 * other subnet's rules); a deny drops.
 */
final class AclRules {
    static final String TABLE = "hp_acl";

    private AclRules() {
    }

    static String render(List<FabricState.SubnetNetwork> subnets) {
        StringBuilder s = new StringBuilder();
        s.append("add table ip ").append(TABLE).append('\n');
        s.append("delete table ip ").append(TABLE).append('\n');
        s.append("table ip ").append(TABLE).append(" {\n");
        s.append("  chain forward {\n    type filter hook forward priority 0; policy accept;\n");
        for (FabricState.SubnetNetwork subnet : subnets) {
            s.append("    iifname \"hp-b").append(subnet.vni()).append("\" jump out_").append(subnet.vni()).append('\n');
            s.append("    oifname \"hp-b").append(subnet.vni()).append("\" jump in_").append(subnet.vni()).append('\n');
        }
        s.append("  }\n");
        for (FabricState.SubnetNetwork subnet : subnets) {
            chain(s, "out_" + subnet.vni(), "daddr", subnet.aclEgress());
            chain(s, "in_" + subnet.vni(), "saddr", subnet.aclIngress());
        }
        s.append("}\n");
        return s.toString();
    }

    private static void chain(StringBuilder s, String name, String peer, List<FabricState.AclRule> rules) {
        s.append("  chain ").append(name).append(" {\n");
        for (FabricState.AclRule r : rules) {
            String protocol = switch (r.protocol()) {
                case "6" -> "tcp";
                case "17" -> "udp";
                case "1" -> "icmp";
                default -> r.protocol();
            };
            s.append("    ip ").append(peer).append(' ').append(r.cidr()).append(' ')
                    .append(SecurityGroupRules.match(protocol, r.fromPort(), r.toPort()))
                    .append(r.allow() ? "return" : "drop").append('\n');
        }
        s.append("    drop\n  }\n");
    }
}
