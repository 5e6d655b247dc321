package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.VxlanHeader;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The internet router's seal (DESIGN.md §9 and §11), the counterpart of a VPC router's
 * {@link UnderlaySeal}: it forwards only between public addresses, so nothing from the internet
 * (simulated or real) reaches the underlay, an environment, a VPC's private addresses or any other
 * private range, and nothing from those reaches the internet except as a public address (an Elastic
 * IP a VPC router mapped, or the service egress 192.0.2.10).
 * <pre>
 *   forward  in on the underlay port (hp-ul0)                      drop  from_underlay
 *            out on the underlay port                              drop  to_underlay
 *            from or to a range of Internet.NOT_PUBLIC             drop  not_public
 *   input    UDP 4789 from a forwarder node, in on the underlay    (the service egress subnet's tunnel)
 *            anything else in on the underlay port                 drop  underlay_not_vxlan
 *            UDP 4789 from anywhere else                           drop  vxlan_off_underlay
 *            in on a VPC's gateway link (to the router itself)     drop  from_vpc_link
 *            to its own underlay or link addresses, from elsewhere  drop  not_public
 * </pre>
 */
public final class InternetSeal {
    public static final String TABLE = "hp_inet_seal";

    /** Why the internet router dropped a packet: one named counter each. */
    public enum Drop {
        FROM_UNDERLAY("from_underlay"),
        TO_UNDERLAY("to_underlay"),
        NOT_PUBLIC("not_public"),
        UNDERLAY_NOT_VXLAN("underlay_not_vxlan"),
        VXLAN_OFF_UNDERLAY("vxlan_off_underlay"),
        FROM_VPC_LINK("from_vpc_link");

        private final String counter;

        Drop(String counter) {
            this.counter = counter;
        }

        public String counter() {
            return counter;
        }
    }

    private InternetSeal() {
    }

    static String render(List<String> forwarderNodes) {
        String port = "\"" + LabFabric.UNDERLAY_PORT + "\"";
        StringBuilder s = new StringBuilder();
        s.append("add table inet ").append(TABLE).append('\n');
        s.append("delete table inet ").append(TABLE).append('\n');
        s.append("table inet ").append(TABLE).append(" {\n");
        for (Drop drop : Drop.values()) {
            s.append("  counter ").append(drop.counter()).append(" { }\n");
        }
        s.append("  set not_public {\n    type ipv4_addr; flags interval;\n    elements = { ")
                .append(Internet.NOT_PUBLIC.stream().map(Object::toString).collect(Collectors.joining(", "))).append(" }\n  }\n");
        s.append("  chain forward {\n    type filter hook forward priority filter - 10; policy accept;\n");
        drop(s, "iifname " + port, Drop.FROM_UNDERLAY);
        drop(s, "oifname " + port, Drop.TO_UNDERLAY);
        drop(s, "ip saddr @not_public", Drop.NOT_PUBLIC);
        drop(s, "ip daddr @not_public", Drop.NOT_PUBLIC);
        s.append("  }\n");
        s.append("  chain input {\n    type filter hook input priority filter - 10; policy accept;\n");
        if (!forwarderNodes.isEmpty()) {
            String nodes = forwarderNodes.stream().map(ip -> Ipv4Address.format(Ipv4Address.parse(ip))).collect(Collectors.joining(", "));
            s.append("    iifname ").append(port).append(" ip saddr { ").append(nodes).append(" } udp dport ")
                    .append(VxlanHeader.UDP_PORT).append(" accept\n");
        }
        drop(s, "iifname " + port, Drop.UNDERLAY_NOT_VXLAN);
        drop(s, "udp dport " + VxlanHeader.UDP_PORT, Drop.VXLAN_OFF_UNDERLAY);
        drop(s, "iifname \"" + InternetRouter.VPC_LINK_PEER_PREFIX + "*\"", Drop.FROM_VPC_LINK);
        drop(s, "iifname != \"lo\" ip daddr @not_public", Drop.NOT_PUBLIC);
        s.append("  }\n}\n");
        return s.toString();
    }

    private static void drop(StringBuilder s, String match, Drop drop) {
        s.append("    ").append(match).append(" counter name ").append(drop.counter()).append(" drop\n");
    }
}
