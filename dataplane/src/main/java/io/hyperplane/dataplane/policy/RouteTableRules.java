package io.hyperplane.dataplane.policy;

import io.hyperplane.config.NodeSnapshot.Route;
import io.hyperplane.config.NodeSnapshot.RouteTable;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.Comparator;
import java.util.List;

/**
 * A route table, longest prefix first (VPC user guide, "Route priority"). Targets: {@code local}
 * delivers inside the VPC, {@code blackhole} drops, an internet gateway ({@code igw-…}) and a NAT
 * gateway ({@code nat-…}) are reached through the subnet's router; what each means depends on who
 * sends (the forwarder decides: a Lambda ENI has no public address, DESIGN.md §11). Any other
 * target (a peering, a transit gateway) is not forwarded by this node and reports {@link #UNSUPPORTED}.
 */
public final class RouteTableRules {
    public static final int NO_ROUTE = 0;
    public static final int LOCAL = 1;
    public static final int BLACKHOLE = 2;
    public static final int UNSUPPORTED = 3;
    public static final int INTERNET_GATEWAY = 4;
    public static final int NAT_GATEWAY = 5;

    private final int[] network;
    private final int[] mask;
    private final int[] target;

    private RouteTableRules(RouteTable table) {
        List<Route> routes = table.routes().stream()
                .sorted(Comparator.comparingInt((Route r) -> Ipv4Cidr.parse(r.destination()).prefixLength()).reversed())
                .toList();
        int n = routes.size();
        network = new int[n];
        mask = new int[n];
        target = new int[n];
        for (int i = 0; i < n; i++) {
            Ipv4Cidr cidr = Ipv4Cidr.parse(routes.get(i).destination());
            network[i] = cidr.network();
            mask[i] = cidr.mask();
            target[i] = switch (routes.get(i).target()) {
                case "local" -> LOCAL;
                case "blackhole" -> BLACKHOLE;
                default -> targetOf(routes.get(i).target());
            };
        }
    }

    private static int targetOf(String gateway) {
        if (gateway.startsWith("igw-")) {
            return INTERNET_GATEWAY;
        }
        return gateway.startsWith("nat-") ? NAT_GATEWAY : UNSUPPORTED;
    }

    public static RouteTableRules compile(RouteTable table) {
        return new RouteTableRules(table);
    }

    /** {@link #LOCAL}, {@link #BLACKHOLE}, {@link #INTERNET_GATEWAY}, {@link #NAT_GATEWAY}, {@link #UNSUPPORTED} or {@link #NO_ROUTE}. */
    public int lookup(int destination) {
        for (int i = 0; i < network.length; i++) {
            if ((destination & mask[i]) == network[i]) {
                return target[i];
            }
        }
        return NO_ROUTE;
    }
}
