package io.hyperplane.control.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.FabricState.RouteTarget;
import io.hyperplane.control.ec2.Ec2Api;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the fabric is told about the way out (DESIGN.md §11), read from the store: each subnet's
 * routes as its VPC router applies them, and each VPC's public addresses as its internet gateway
 * maps them.
 */
final class WayOut {
    /**
     * Instances' private DNS domain: "ec2.internal" in us-east-1, "REGION.compute.internal"
     * elsewhere (VPC user guide, "DNS attributes for your VPC").
     */
    static final String PRIVATE_DOMAIN = privateDomain(Ec2Api.REGION);

    private WayOut() {
    }

    static String privateDomain(String region) {
        return region.equals("us-east-1") ? "ec2.internal" : region + ".compute.internal";
    }

    /** Every route table's routes and who uses which, with what their gateways are now. */
    static final class Routes {
        private final Map<String, String> tableOfSubnet = new HashMap<>();
        private final Map<String, String> mainTableOfVpc = new HashMap<>();
        private final Map<String, List<String[]>> routesOfTable = new HashMap<>();
        private final Map<String, String> vpcOfGateway = new HashMap<>();
        /** Available NAT gateways: id -> {vpc, private address}. */
        private final Map<String, String[]> availableNat = new HashMap<>();

        /**
         * The subnet's routes from its route table (the main one when it has none of its own):
         * "local" within the VPC; an internet gateway attached to the VPC out through it; an
         * available NAT gateway of the VPC to its private address; anything else (a blackhole
         * route, a gateway detached or deleted, a NAT gateway not available, a target the fabric
         * does not forward to) dropped, as EC2 shows such a route "blackhole".
         */
        List<FabricState.Route> routesOf(String subnetId, String vpcId) {
            String table = tableOfSubnet.getOrDefault(subnetId, mainTableOfVpc.get(vpcId));
            List<FabricState.Route> out = new ArrayList<>();
            for (String[] route : routesOfTable.getOrDefault(table, List.of())) {
                String target = route[1];
                String[] nat = availableNat.get(target);
                if (target.equals("local")) {
                    out.add(new FabricState.Route(route[0], RouteTarget.LOCAL, null));
                } else if (target.startsWith("igw-") && vpcId.equals(vpcOfGateway.get(target))) {
                    out.add(new FabricState.Route(route[0], RouteTarget.INTERNET_GATEWAY, null));
                } else if (nat != null && nat[0].equals(vpcId)) {
                    out.add(new FabricState.Route(route[0], RouteTarget.NAT_GATEWAY, nat[1]));
                } else {
                    out.add(new FabricState.Route(route[0], RouteTarget.BLACKHOLE, null));
                }
            }
            return out;
        }
    }

    static Routes routes(Connection c) throws SQLException {
        Routes routes = new Routes();
        try (PreparedStatement s = Sql.prepare(c, "SELECT a.route_table_id, a.subnet_id, a.is_main, t.vpc_id FROM route_table_associations a"
                + " JOIN route_tables t ON t.id = a.route_table_id"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                if (r.getBoolean(3)) {
                    routes.mainTableOfVpc.put(r.getString(4), r.getString(1));
                }
                if (r.getString(2) != null) {
                    routes.tableOfSubnet.put(r.getString(2), r.getString(1));
                }
            }
        }
        try (PreparedStatement s = Sql.prepare(c, "SELECT route_table_id, destination, target FROM routes ORDER BY route_table_id, destination");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                routes.routesOfTable.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(new String[] {r.getString(2), r.getString(3)});
            }
        }
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id FROM internet_gateways WHERE vpc_id IS NOT NULL"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                routes.vpcOfGateway.put(r.getString(1), r.getString(2));
            }
        }
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, private_ip FROM nat_gateways WHERE state = 'available'");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                routes.availableNat.put(r.getString(1), new String[] {r.getString(2), r.getString(3)});
            }
        }
        return routes;
    }

    /**
     * The public addresses of each VPC, private to public: live instances' auto-assigned ones,
     * Elastic IPs associated with live instances or with ENIs, and available NAT gateways' Elastic
     * IPs (a pending one's is associated but nothing carries it yet).
     */
    static Map<String, List<FabricState.PublicAddress>> publicAddresses(Connection c) throws SQLException {
        Map<String, List<FabricState.PublicAddress>> out = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT vpc_id, private_ip, public_ip FROM instances"
                + " WHERE state IN ('pending', 'running') AND public_ip IS NOT NULL AND private_ip IS NOT NULL"
                + " UNION ALL SELECT i.vpc_id, e.private_ip, e.public_ip FROM elastic_ips e JOIN instances i ON i.id = e.instance_id"
                + " WHERE i.state IN ('pending', 'running') AND e.private_ip IS NOT NULL"
                + " UNION ALL SELECT n.vpc_id, e.private_ip, e.public_ip FROM elastic_ips e JOIN network_interfaces n ON n.id = e.network_interface_id"
                + " WHERE e.instance_id IS NULL"
                + " UNION ALL SELECT g.vpc_id, e.private_ip, e.public_ip FROM elastic_ips e JOIN nat_gateways g ON g.eni_id = e.network_interface_id"
                + " WHERE g.state = 'available'"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(new FabricState.PublicAddress(r.getString(2), r.getString(3)));
            }
        }
        out.values().forEach(list -> list.sort((a, b) -> a.publicIp().compareTo(b.publicIp())));
        return out;
    }
}
