package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A VPC's route tables in its router namespace, by policy routing: a rule per subnet bridge
 * ({@code iif hp-bVNI lookup VNI}) sends what the subnet sends through a table of its own, where the
 * kernel picks the longest matching prefix, as a VPC route table does:
 * <pre>
 *   LOCAL             throw: on to the main table, which holds the subnets (connected routes)
 *   INTERNET_GATEWAY  via the internet router over the gateway link (hp-igw); no link: no route
 *   NAT_GATEWAY       via the NAT gateway's private address on its subnet's bridge (a forwarder
 *                     node answers ARP for it over the subnet's VXLAN, as for a Lambda ENI)
 *   BLACKHOLE         to hp-noroute, a device that leads nowhere, where the seal counts and drops
 *                     (no_route) on the forward hook: a kernel blackhole route would drop uncounted
 *   (no match)        a default route to hp-noroute, unless the table has its own 0.0.0.0/0
 * </pre>
 * Table numbers are the subnets' VNIs (1,001 and up: clear of the kernel's local, main and default
 * tables, 253-255). A subnet given no routes has no rule and keeps the main table: it routes within
 * the VPC, as before route tables were carried here. Traffic arriving from the gateway link (DNATed
 * to an instance) uses the main table too.
 */
final class RouteTables {
    static final String NO_ROUTE_DEVICE = "hp-noroute";
    /** Before the main table's rule (32766), after the local table's (0). */
    static final int RULE_PRIORITY = 1000;
    private static final String DEFAULT = "0.0.0.0/0";

    private RouteTables() {
    }

    /** The subnets that have a table: their bridge and its table number. */
    static Map<String, Integer> tables(FabricState.VpcNetwork vpc) {
        Map<String, Integer> tables = new LinkedHashMap<>();
        for (FabricState.SubnetNetwork subnet : vpc.subnets()) {
            if (!subnet.routes().isEmpty()) {
                tables.put(bridge(subnet), subnet.vni());
            }
        }
        return tables;
    }

    /** The commands for {@code ip -batch -} that make every table what the routes say, from empty. */
    static String render(FabricState.VpcNetwork vpc, boolean linked) {
        StringBuilder s = new StringBuilder();
        for (FabricState.SubnetNetwork subnet : vpc.subnets()) {
            if (subnet.routes().isEmpty()) {
                continue;
            }
            String table = " table " + subnet.vni();
            s.append("route flush").append(table).append('\n');
            boolean hasDefault = false;
            for (FabricState.Route route : subnet.routes()) {
                Ipv4Cidr destination = Ipv4Cidr.parse(route.destination()); // normalised: a tenant's text never reaches ip as is
                hasDefault |= destination.prefixLength() == 0;
                s.append("route add ").append(target(vpc, route, destination, linked)).append(table).append('\n');
            }
            if (!hasDefault) {
                s.append("route add ").append(DEFAULT).append(" dev ").append(NO_ROUTE_DEVICE).append(table).append('\n');
            }
        }
        return s.toString();
    }

    private static String target(FabricState.VpcNetwork vpc, FabricState.Route route, Ipv4Cidr destination, boolean linked) {
        String to = destination.toString();
        return switch (route.target()) {
            case LOCAL -> "throw " + to;
            case BLACKHOLE -> to + " dev " + NO_ROUTE_DEVICE;
            case INTERNET_GATEWAY -> linked ? to + " via " + InternetRouter.INTERNET_SIDE + " dev " + InternetRouter.VPC_LINK : to + " dev " + NO_ROUTE_DEVICE;
            case NAT_GATEWAY -> {
                int hop = Ipv4Address.parse(route.nextHopIp());
                FabricState.SubnetNetwork home = vpc.subnets().stream().filter(s -> Ipv4Cidr.parse(s.cidr()).contains(hop)).findFirst().orElse(null);
                yield home == null ? to + " dev " + NO_ROUTE_DEVICE : to + " via " + Ipv4Address.format(hop) + " dev " + bridge(home);
            }
        };
    }

    static String bridge(FabricState.SubnetNetwork subnet) {
        return "hp-b" + subnet.vni();
    }

    /** The rules {@code ip rule show} lists now at {@link #RULE_PRIORITY}: bridge -> table. */
    static Map<String, Integer> parseRules(String ipRuleShow) {
        Map<String, Integer> rules = new LinkedHashMap<>();
        for (String line : ipRuleShow.lines().toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 2 || !f[0].equals(RULE_PRIORITY + ":")) {
                continue;
            }
            String iif = null;
            Integer table = null;
            for (int i = 1; i + 1 < f.length; i++) {
                if (f[i].equals("iif")) {
                    iif = f[i + 1];
                } else if (f[i].equals("lookup")) {
                    table = Integer.valueOf(f[i + 1]);
                }
            }
            if (iif != null && table != null) {
                rules.put(iif, table);
            }
        }
        return rules;
    }

    /** The commands (for {@code ip -batch -}) that turn rules {@code now} into {@code wanted}. */
    static List<String> ruleChanges(Map<String, Integer> now, Map<String, Integer> wanted) {
        List<String> changes = new ArrayList<>();
        now.forEach((bridge, table) -> {
            if (!table.equals(wanted.get(bridge))) {
                changes.add("rule del pref " + RULE_PRIORITY + " iif " + bridge + " lookup " + table);
            }
        });
        wanted.forEach((bridge, table) -> {
            if (!table.equals(now.get(bridge))) {
                changes.add("rule add pref " + RULE_PRIORITY + " iif " + bridge + " lookup " + table);
            }
        });
        return changes;
    }
}
