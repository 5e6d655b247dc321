package io.hyperplane.control.ec2;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Cidr;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Route tables: CreateRouteTable, DescribeRouteTables, DeleteRouteTable, CreateRoute, ReplaceRoute,
 * DeleteRoute, AssociateRouteTable, ReplaceRouteTableAssociation, DisassociateRouteTable. Every
 * table has the local route for its VPC's block, which cannot be removed; a subnet without an
 * explicit association uses the main table (VPC user guide, "Route tables"). A route to an internet
 * gateway that is no longer attached, or to a NAT gateway that is not available, stays in the
 * table as a "blackhole".
 */
final class RouteTableActions {
    /** Route targets CreateRoute accepts, in the order EC2 documents them. */
    private static final List<String> TARGETS = List.of("GatewayId", "NatGatewayId", "NetworkInterfaceId", "InstanceId",
            "VpcPeeringConnectionId", "TransitGatewayId", "VpcEndpointId", "CarrierGatewayId", "LocalGatewayId",
            "EgressOnlyInternetGatewayId", "CoreNetworkArn");

    private static final int MAX_TARGET = 64;

    /** {@code state}: "active", or "blackhole" when its gateway is detached or gone, or its NAT gateway not available. */
    record Route(String destination, String target, String origin, String state) {
    }

    record Association(String id, String subnetId, boolean main) {
    }

    record Table(String id, String accountId, String vpcId, List<Route> routes, List<Association> associations,
                 Map<String, String> tags) {
    }

    private final Database db;

    RouteTableActions(Database db) {
        this.db = db;
    }

    String create(String account, QueryParams p, String requestId) {
        String vpcId = p.required("VpcId");
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "route-table");
        String id = db.inTransaction(c -> {
            Accounts.lock(c, account);
            String cidr = VpcStore.requireVpc(c, account, vpcId);
            String table = Ids.next("rtb");
            Sql.update(c, "INSERT INTO route_tables (id, account_id, vpc_id, created_at) VALUES (?, ?, ?, ?)", table, account, vpcId,
                    Timestamp.from(Instant.now()));
            Sql.update(c, "INSERT INTO routes (route_table_id, destination, target, origin) VALUES (?, ?, 'local', 'CreateRouteTable')", table, cidr);
            VpcStore.putTags(c, account, table, tags);
            return table;
        });
        Table table = tables(account).stream().filter(t -> t.id().equals(id)).findFirst().orElseThrow();
        Xml x = new Xml().openRoot("CreateRouteTableResponse").element("requestId", requestId).open("routeTable");
        render(x, table);
        return x.close("routeTable").close("CreateRouteTableResponse").toString();
    }

    private static final Set<String> FILTERS = Set.of("route-table-id", "vpc-id", "association.subnet-id", "association.main",
            "association.route-table-association-id", "association.route-table-id", "route.destination-cidr-block", "owner-id",
            "route.gateway-id", "route.nat-gateway-id", "route.state");

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("RouteTableId");
        Filters filters = Filters.parse(p, FILTERS);
        List<Table> all = tables(account);
        for (String id : ids) {
            if (all.stream().noneMatch(t -> t.id().equals(id))) {
                throw Ec2Error.client("InvalidRouteTableID.NotFound", "The routeTable ID '" + id + "' does not exist");
            }
        }
        Xml x = new Xml().openRoot("DescribeRouteTablesResponse").element("requestId", requestId).open("routeTableSet");
        for (Table t : all) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "route-table-id", "association.route-table-id" -> List.of(t.id());
                case "vpc-id" -> List.of(t.vpcId());
                case "association.subnet-id" -> t.associations().stream().map(Association::subnetId).filter(s -> s != null).toList();
                case "association.main" -> List.of(String.valueOf(t.associations().stream().anyMatch(Association::main)));
                case "association.route-table-association-id" -> t.associations().stream().map(Association::id).toList();
                case "route.destination-cidr-block" -> t.routes().stream().map(Route::destination).toList();
                case "route.gateway-id" -> t.routes().stream().map(Route::target).filter(g -> g.equals("local") || g.startsWith("igw-")).toList();
                case "route.nat-gateway-id" -> t.routes().stream().map(Route::target).filter(g -> g.startsWith("nat-")).toList();
                case "route.state" -> t.routes().stream().map(Route::state).toList();
                case "owner-id" -> List.of(t.accountId());
                default -> List.of();
            };
            if ((ids.isEmpty() || ids.contains(t.id())) && filters.matches(attributes, t.tags())) {
                x.open("item");
                render(x, t);
                x.close("item");
            }
        }
        return x.close("routeTableSet").close("DescribeRouteTablesResponse").toString();
    }

    private static void render(Xml x, Table t) {
        x.element("routeTableId", t.id()).element("vpcId", t.vpcId()).element("ownerId", t.accountId()).open("routeSet");
        for (Route r : t.routes()) {
            x.open("item").element("destinationCidrBlock", r.destination());
            String target = r.target();
            String element = target.equals("local") || target.startsWith("igw-") || target.startsWith("vgw-") ? "gatewayId"
                    : target.startsWith("nat-") ? "natGatewayId" : target.startsWith("eni-") ? "networkInterfaceId"
                    : target.startsWith("i-") ? "instanceId" : target.startsWith("pcx-") ? "vpcPeeringConnectionId"
                    : target.startsWith("tgw-") ? "transitGatewayId" : "gatewayId";
            x.element(element, target).element("state", r.state()).element("origin", r.origin()).close("item");
        }
        x.close("routeSet").open("associationSet");
        for (Association a : t.associations()) {
            x.open("item").element("routeTableAssociationId", a.id()).element("routeTableId", t.id());
            if (a.subnetId() != null) {
                x.element("subnetId", a.subnetId());
            }
            x.element("main", a.main()).open("associationState").element("state", "associated").close("associationState").close("item");
        }
        x.close("associationSet").empty("propagatingVgwSet");
        Ec2Api.tagSet(x, t.tags());
    }

    String delete(String account, QueryParams p, String requestId) {
        String id = p.required("RouteTableId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireTable(c, account, id);
            if (Sql.count(c, "SELECT COUNT(*) FROM route_table_associations WHERE route_table_id = ?", id) > 0) {
                throw Ec2Error.client("DependencyViolation", "The routeTable '" + id + "' has dependencies and cannot be deleted.");
            }
            Sql.update(c, "DELETE FROM routes WHERE route_table_id = ?", id);
            Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", id);
            Sql.update(c, "DELETE FROM route_tables WHERE id = ?", id);
            return null;
        });
        return Ec2Api.returnTrue("DeleteRouteTableResponse", requestId);
    }

    String createRoute(String account, QueryParams p, String requestId) {
        String id = p.required("RouteTableId");
        String destination = destination(p);
        String targetParameter = targetParameter(p);
        String target = target(p, targetParameter);
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            String vpc = requireTable(c, account, id);
            requireTarget(c, account, id, vpc, targetParameter, target);
            if (Sql.count(c, "SELECT COUNT(*) FROM routes WHERE route_table_id = ? AND destination = ?", id, destination) > 0) {
                throw Ec2Error.client("RouteAlreadyExists", "The route identified by " + destination + " already exists.");
            }
            Sql.update(c, "INSERT INTO routes (route_table_id, destination, target, origin) VALUES (?, ?, ?, 'CreateRoute')", id, destination, target);
            return null;
        });
        return Ec2Api.returnTrue("CreateRouteResponse", requestId);
    }

    /** ReplaceRoute: a route that exists gets another target; the local route keeps its own. */
    String replaceRoute(String account, QueryParams p, String requestId) {
        String id = p.required("RouteTableId");
        String destination = destination(p);
        String targetParameter = targetParameter(p);
        String target = target(p, targetParameter);
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            String vpc = requireTable(c, account, id);
            List<String> existing = Sql.strings(c, "SELECT target FROM routes WHERE route_table_id = ? AND destination = ?", id, destination);
            if (existing.isEmpty()) {
                throw Ec2Error.client("InvalidRoute.NotFound", "no route with destination-cidr-block " + destination + " in route table " + id);
            }
            if (existing.getFirst().equals("local")) {
                throw Ec2Error.client("InvalidParameterValue", "cannot replace local route " + destination + " in route table " + id);
            }
            requireTarget(c, account, id, vpc, targetParameter, target);
            Sql.update(c, "UPDATE routes SET target = ?, origin = 'CreateRoute' WHERE route_table_id = ? AND destination = ?", target, id, destination);
            return null;
        });
        return Ec2Api.returnTrue("ReplaceRouteResponse", requestId);
    }

    private static String targetParameter(QueryParams p) {
        return TARGETS.stream().filter(t -> p.get(t) != null && !p.get(t).isEmpty()).findFirst()
                .orElseThrow(() -> Ec2Error.missing("GatewayId (or another route target)"));
    }

    private static String target(QueryParams p, String targetParameter) {
        String target = p.get(targetParameter);
        // A target is an id ("igw-...", "local"): what nodes are sent refuses a blank one, and the store holds 64 characters.
        if (target.length() > MAX_TARGET || !target.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
            throw Ec2Error.invalidValue(targetParameter, target, "It is not a valid ID.");
        }
        return target;
    }

    /**
     * An internet gateway must be the account's and attached to the table's VPC; a NAT gateway the
     * account's, in that VPC and not deleted or failed (a pending one is taken: the route is a
     * blackhole until it is available).
     */
    private static void requireTarget(Connection c, String account, String table, String vpc, String parameter, String target) throws SQLException {
        if (parameter.equals("GatewayId") && target.startsWith("igw-")) {
            List<String> attached = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT vpc_id FROM internet_gateways WHERE id = ? AND account_id = ?", target, account);
                 ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw Ec2Error.client("InvalidInternetGatewayID.NotFound", "The internetGateway ID '" + target + "' does not exist");
                }
                attached.add(r.getString(1));
            }
            if (!vpc.equals(attached.getFirst())) {
                throw Ec2Error.client("InvalidParameterValue", "route table " + table + " and network gateway " + target + " belong to different networks");
            }
        } else if (parameter.equals("NatGatewayId")) {
            if (Sql.count(c, "SELECT COUNT(*) FROM nat_gateways WHERE id = ? AND account_id = ? AND vpc_id = ? AND state NOT IN ('deleted', 'failed')",
                    target, account, vpc) == 0) {
                throw Ec2Error.client("InvalidNatGatewayID.NotFound", "The natGateway ID '" + target + "' does not exist");
            }
        }
    }

    String deleteRoute(String account, QueryParams p, String requestId) {
        String id = p.required("RouteTableId");
        String destination = destination(p);
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireTable(c, account, id);
            List<String> target = Sql.strings(c, "SELECT target FROM routes WHERE route_table_id = ? AND destination = ?", id, destination);
            if (target.isEmpty()) {
                throw Ec2Error.client("InvalidRoute.NotFound", "no route with destination-cidr-block " + destination + " in route table " + id);
            }
            if (target.getFirst().equals("local")) {
                throw Ec2Error.client("InvalidParameterValue", "cannot remove local route " + destination + " in route table " + id);
            }
            Sql.update(c, "DELETE FROM routes WHERE route_table_id = ? AND destination = ?", id, destination);
            return null;
        });
        return Ec2Api.returnTrue("DeleteRouteResponse", requestId);
    }

    String associate(String account, QueryParams p, String requestId) {
        String id = p.required("RouteTableId");
        String subnetId = p.required("SubnetId");
        String associationId = db.inTransaction(c -> {
            Accounts.lock(c, account);
            String vpc = requireTable(c, account, id);
            List<String> subnetVpc = Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnetId, account);
            if (subnetVpc.isEmpty()) {
                throw Ec2Error.client("InvalidSubnetID.NotFound", "The subnet ID '" + subnetId + "' does not exist");
            }
            if (!subnetVpc.getFirst().equals(vpc)) {
                throw Ec2Error.client("InvalidParameterValue", "Route table " + id + " and subnet " + subnetId + " belong to different networks");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM route_table_associations WHERE subnet_id = ?", subnetId) > 0) {
                throw Ec2Error.client("Resource.AlreadyAssociated", "the specified association for route table " + id + " conflicts with an existing association");
            }
            String association = Ids.next("rtbassoc");
            Sql.update(c, "INSERT INTO route_table_associations (id, route_table_id, subnet_id, is_main) VALUES (?, ?, ?, FALSE)", association, id, subnetId);
            return association;
        });
        return new Xml().openRoot("AssociateRouteTableResponse").element("requestId", requestId).element("associationId", associationId)
                .open("associationState").element("state", "associated").close("associationState").close("AssociateRouteTableResponse").toString();
    }

    String disassociate(String account, QueryParams p, String requestId) {
        String associationId = p.required("AssociationId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            try (PreparedStatement s = Sql.prepare(c, "SELECT a.is_main FROM route_table_associations a JOIN route_tables t ON t.id = a.route_table_id"
                    + " WHERE a.id = ? AND t.account_id = ?", associationId, account); ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw Ec2Error.client("InvalidAssociationID.NotFound", "The association ID '" + associationId + "' does not exist");
                }
                if (r.getBoolean(1)) {
                    throw Ec2Error.client("InvalidParameterValue", "cannot disassociate the main route table association " + associationId);
                }
            }
            Sql.update(c, "DELETE FROM route_table_associations WHERE id = ?", associationId);
            return null;
        });
        return Ec2Api.returnTrue("DisassociateRouteTableResponse", requestId);
    }

    /** ReplaceRouteTableAssociation: a subnet's (or the main) association moves to another table of the same VPC. */
    String replaceAssociation(String account, QueryParams p, String requestId) {
        String associationId = p.required("AssociationId");
        String tableId = p.required("RouteTableId");
        String newAssociation = db.inTransaction(c -> {
            Accounts.lock(c, account);
            String vpc = requireTable(c, account, tableId);
            List<String> oldVpc = Sql.strings(c, "SELECT t.vpc_id FROM route_table_associations a JOIN route_tables t ON t.id = a.route_table_id"
                    + " WHERE a.id = ? AND t.account_id = ?", associationId, account);
            if (oldVpc.isEmpty()) {
                throw Ec2Error.client("InvalidAssociationID.NotFound", "The association ID '" + associationId + "' does not exist");
            }
            if (!oldVpc.getFirst().equals(vpc)) {
                throw Ec2Error.client("InvalidParameterValue", "Route table " + tableId + " and association " + associationId
                        + " belong to different networks");
            }
            String subnet = Sql.strings(c, "SELECT subnet_id FROM route_table_associations WHERE id = ?", associationId).getFirst();
            boolean main = Sql.count(c, "SELECT COUNT(*) FROM route_table_associations WHERE id = ? AND is_main", associationId) > 0;
            // The old row goes first: a subnet has one association (subnet_id is unique).
            Sql.update(c, "DELETE FROM route_table_associations WHERE id = ?", associationId);
            String association = Ids.next("rtbassoc");
            Sql.update(c, "INSERT INTO route_table_associations (id, route_table_id, subnet_id, is_main) VALUES (?, ?, ?, ?)",
                    association, tableId, subnet, main);
            return association;
        });
        return new Xml().openRoot("ReplaceRouteTableAssociationResponse").element("requestId", requestId).element("newAssociationId", newAssociation)
                .open("associationState").element("state", "associated").close("associationState").close("ReplaceRouteTableAssociationResponse").toString();
    }

    private static String destination(QueryParams p) {
        String text = p.required("DestinationCidrBlock");
        try {
            return Ipv4Cidr.parse(text).toString();
        } catch (IllegalArgumentException e) {
            throw Ec2Error.invalidValue("destinationCidrBlock", text, "This is not a valid CIDR block.");
        }
    }

    /** The table's VPC id; another account's table is as unknown as a missing one. */
    private static String requireTable(Connection c, String account, String id) throws SQLException {
        List<String> vpc = Sql.strings(c, "SELECT vpc_id FROM route_tables WHERE id = ? AND account_id = ?", id, account);
        if (vpc.isEmpty()) {
            throw Ec2Error.client("InvalidRouteTableID.NotFound", "The routeTable ID '" + id + "' does not exist");
        }
        return vpc.getFirst();
    }

    /** A route's state from its target: the table's VPC, the VPC its internet gateway is attached to, its NAT gateway's state. */
    static String state(String target, String vpc, String gatewayVpc, String natState) {
        if (target.startsWith("igw-")) {
            return vpc.equals(gatewayVpc) ? "active" : "blackhole";
        }
        if (target.startsWith("nat-")) {
            return "available".equals(natState) ? "active" : "blackhole";
        }
        return target.equals("blackhole") ? "blackhole" : "active";
    }

    List<Table> tables(String account) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
            Map<String, List<Route>> routes = new LinkedHashMap<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT r.route_table_id, r.destination, r.target, r.origin, t.vpc_id,"
                    + " (SELECT g.vpc_id FROM internet_gateways g WHERE g.id = r.target),"
                    + " (SELECT n.state FROM nat_gateways n WHERE n.id = r.target AND n.vpc_id = t.vpc_id)"
                    + " FROM routes r JOIN route_tables t ON t.id = r.route_table_id WHERE t.account_id = ? ORDER BY r.destination", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    routes.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(new Route(r.getString(2), r.getString(3), r.getString(4),
                            state(r.getString(3), r.getString(5), r.getString(6), r.getString(7))));
                }
            }
            Map<String, List<Association>> associations = new LinkedHashMap<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT a.route_table_id, a.id, a.subnet_id, a.is_main FROM route_table_associations a"
                    + " JOIN route_tables t ON t.id = a.route_table_id WHERE t.account_id = ? ORDER BY a.id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    associations.computeIfAbsent(r.getString(1), k -> new ArrayList<>())
                            .add(new Association(r.getString(2), r.getString(3), r.getBoolean(4)));
                }
            }
            List<Table> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id FROM route_tables WHERE account_id = ? ORDER BY created_at, id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String id = r.getString(1);
                    out.add(new Table(id, account, r.getString(2), routes.getOrDefault(id, List.of()),
                            associations.getOrDefault(id, List.of()), tags.getOrDefault(id, Map.of())));
                }
            }
            return out;
        });
    }
}
