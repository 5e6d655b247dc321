package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;

import java.util.List;

/**
 * An instance's security groups as an nftables table inside its namespace. Stateful, like AWS's:
 * established and related traffic passes first, so a rule removed later does not cut tracked
 * connections; new connections need an allow rule in their direction; everything else drops.
 */
final class SecurityGroupRules {
    static final String TABLE = "hp_sg";

    private SecurityGroupRules() {
    }

    static String render(FabricState.InstanceHost instance) {
        StringBuilder s = new StringBuilder();
        // "add" then "delete" then the definition: one transaction that replaces the table whether or not it existed.
        s.append("add table inet ").append(TABLE).append('\n');
        s.append("delete table inet ").append(TABLE).append('\n');
        s.append("table inet ").append(TABLE).append(" {\n");
        chain(s, "input", "iif", "saddr", instance.ingress());
        chain(s, "output", "oif", "daddr", instance.egress());
        s.append("}\n");
        return s.toString();
    }

    private static void chain(StringBuilder s, String hook, String loopback, String peer, List<FabricState.Permission> permissions) {
        s.append("  chain ").append(hook).append(" {\n");
        s.append("    type filter hook ").append(hook).append(" priority 0; policy drop;\n");
        s.append("    ct state established,related accept\n");
        s.append("    ").append(loopback).append(" \"lo\" accept\n");
        for (FabricState.Permission p : permissions) {
            if (p.cidrs().isEmpty()) {
                continue; // a group reference with no members yet admits nobody
            }
            s.append("    ip ").append(peer).append(" { ").append(String.join(", ", p.cidrs())).append(" } ")
                    .append(match(p.protocol(), p.fromPort(), p.toPort())).append("accept\n");
        }
        s.append("  }\n");
    }

    static String match(String protocol, int from, int to) {
        return switch (protocol) {
            case "-1" -> "";
            case "tcp", "udp" -> protocol + " dport " + (from == to ? String.valueOf(from) : from + "-" + to) + " ";
            case "icmp" -> "ip protocol icmp " + (from >= 0 ? "icmp type " + from + " " : "");
            default -> "ip protocol " + protocol + " ";
        };
    }
}
