package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.SystemRanges;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.VxlanHeader;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The seal between a VPC router's subnets and the underlay (DESIGN.md §9: the underlay and the
 * system's own ranges are unreachable from every tenant namespace): an nftables table of its own in
 * the router namespace, loaded in one transaction with the network ACLs, so that there is never a
 * moment with one and not the other. Instances have no CAP_NET_ADMIN and no way into the router
 * namespace, so nothing a tenant runs can remove it.
 * <pre>
 *   forward  in on the underlay port (hp-ul0)                                    drop  from_underlay
 *            to 198.18.0.0/15 (underlay) or 100.64.0.0/10 (environments)           drop  to_system
 *            out on the underlay port                                            drop  to_underlay
 *            routed to no route (hp-noroute: a blackhole, or no route matched)    drop  no_route
 *            out the internet gateway link (hp-igw) from an address with no      drop  no_public_ip
 *              public one (GatewayNat maps those that have one)
 *            in on the internet gateway link to anything but a mapped address   drop  from_internet
 *   input    UDP 4789 from a forwarder node, in on the underlay port             (the subnets' tunnels)
 *            anything else in on the underlay port                               drop  underlay_not_vxlan
 *            UDP 4789 in from anywhere else (a subnet, to the gateway or VTEP)   drop  vxlan_off_underlay
 *            to 198.18.0.0/15 or 100.64.0.0/10 (the router's own VTEP address)   drop  to_system
 *            in on the internet gateway link (to the router itself)              drop  from_internet
 * </pre>
 * What stays open: the subnets route to each other (the ACL table decides), instances reach their
 * gateway address, the kernel's VXLAN devices carry the subnets' frames to and from the forwarder
 * nodes (encapsulation is the router's own output, which this table leaves alone), and ARP on the
 * underlay (not IP). Without the input rules, a datagram to the router's port 4789 from a subnet
 * would be decapsulated into any of the VPC's subnets, past the ACLs and with any source address.
 * <p>
 * The chains run at priority filter - 10, before the ACL chains, so every refused packet is counted
 * here, in named counters (one per reason, {@link Drop}) that {@code nft list counters} shows.
 * They count since the router's rules were last loaded: a change of ACLs, subnets or forwarder
 * nodes reloads the table, and so does a restarted server adopting its routers.
 */
public final class UnderlaySeal {
    public static final String TABLE = "hp_seal";

    /** Why the seal dropped a packet: one named counter each. */
    public enum Drop {
        /** Routed from the underlay toward a subnet. */
        FROM_UNDERLAY("from_underlay"),
        /** From a subnet toward the underlay or the environments' range: routed, or to the router's own VTEP address. */
        TO_SYSTEM("to_system"),
        /** Routed out of the underlay port (to an address outside the system ranges). */
        TO_UNDERLAY("to_underlay"),
        /** Arrived on the underlay and was not VXLAN from a forwarder node. */
        UNDERLAY_NOT_VXLAN("underlay_not_vxlan"),
        /** VXLAN to the router's sockets from anywhere but the underlay. */
        VXLAN_OFF_UNDERLAY("vxlan_off_underlay"),
        /** Matched a blackhole route, or no route, of its subnet's route table (RouteTables). */
        NO_ROUTE("no_route"),
        /** Routed to the internet gateway from an address without a public one (as AWS: only those leave). */
        NO_PUBLIC_IP("no_public_ip"),
        /** From the internet to an address the gateway does not map (or to the router itself). */
        FROM_INTERNET("from_internet");

        private final String counter;

        Drop(String counter) {
            this.counter = counter;
        }

        /** The nftables counter's name in {@link #TABLE}. */
        public String counter() {
            return counter;
        }
    }

    private UnderlaySeal() {
    }

    /**
     * The table, replacing any earlier one, for a router whose tunnels go to {@code forwarderNodes}
     * and whose internet gateway maps {@code mapped} (private addresses with a public one).
     */
    static String render(List<String> forwarderNodes, List<String> mapped) {
        String port = "\"" + LabFabric.UNDERLAY_PORT + "\"";
        StringBuilder s = new StringBuilder();
        s.append("add table inet ").append(TABLE).append('\n');
        s.append("delete table inet ").append(TABLE).append('\n');
        s.append("table inet ").append(TABLE).append(" {\n");
        for (Drop drop : Drop.values()) {
            s.append("  counter ").append(drop.counter()).append(" { }\n");
        }
        s.append("  set system_ranges {\n    type ipv4_addr; flags interval;\n    elements = { ")
                .append(SystemRanges.ALL.stream().map(Object::toString).collect(Collectors.joining(", "))).append(" }\n  }\n");

        s.append("  set mapped {\n    type ipv4_addr;\n");
        if (!mapped.isEmpty()) {
            s.append("    elements = { ").append(mapped.stream().map(ip -> Ipv4Address.format(Ipv4Address.parse(ip))).distinct()
                    .collect(Collectors.joining(", "))).append(" }\n");
        }
        s.append("  }\n");
        String link = "\"" + InternetRouter.VPC_LINK + "\"";

        s.append("  chain forward {\n    type filter hook forward priority filter - 10; policy accept;\n");
        drop(s, "iifname " + port, Drop.FROM_UNDERLAY);
        drop(s, "ip daddr @system_ranges", Drop.TO_SYSTEM);
        drop(s, "oifname " + port, Drop.TO_UNDERLAY);
        drop(s, "oifname \"" + RouteTables.NO_ROUTE_DEVICE + "\"", Drop.NO_ROUTE);
        drop(s, "oifname " + link + " ip saddr != @mapped", Drop.NO_PUBLIC_IP);
        drop(s, "iifname " + link + " ip daddr != @mapped", Drop.FROM_INTERNET);
        s.append("  }\n");

        s.append("  chain input {\n    type filter hook input priority filter - 10; policy accept;\n");
        if (!forwarderNodes.isEmpty()) {
            // Normalised, as everything that reaches a rule is: the addresses come from the store, where nodes registered them.
            String nodes = forwarderNodes.stream().map(ip -> Ipv4Address.format(Ipv4Address.parse(ip))).collect(Collectors.joining(", "));
            s.append("    iifname ").append(port).append(" ip saddr { ").append(nodes).append(" } udp dport ")
                    .append(VxlanHeader.UDP_PORT).append(" accept\n");
        }
        drop(s, "iifname " + port, Drop.UNDERLAY_NOT_VXLAN);
        drop(s, "iifname " + link, Drop.FROM_INTERNET);
        drop(s, "udp dport " + VxlanHeader.UDP_PORT, Drop.VXLAN_OFF_UNDERLAY);
        drop(s, "ip daddr @system_ranges", Drop.TO_SYSTEM);
        s.append("  }\n}\n");
        return s.toString();
    }

    private static void drop(StringBuilder s, String match, Drop drop) {
        s.append("    ").append(match).append(" counter name ").append(drop.counter()).append(" drop\n");
    }
}
