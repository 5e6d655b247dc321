package io.hyperplane.control.ec2;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.eni.EniState;
import io.hyperplane.control.eni.EniStore;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * DescribeNetworkInterfaces and DeleteNetworkInterface over the Hyperplane ENIs Lambda creates:
 * InterfaceType "lambda", RequesterManaged, status in-use while a function or execution
 * environment uses them (attaching while being programmed, available while waiting to be
 * deleted). An ENI in use cannot be deleted by its owner. NAT gateways' interfaces are listed too
 * (InterfaceType "nat_gateway", RequesterManaged, in-use while the gateway holds its address), and
 * go with their gateway only.
 */
final class NetworkInterfaceActions {
    private static final Set<String> FILTERS = Set.of("network-interface-id", "subnet-id", "vpc-id", "interface-type", "requester-managed",
            "status", "group-id", "private-ip-address", "addresses.private-ip-address", "description", "owner-id", "availability-zone", "mac-address");

    private static final String LAMBDA = "lambda";
    private static final String NAT_GATEWAY = "nat_gateway";

    /** {@code publicIp}, {@code allocationId}, {@code associationId}: a NAT gateway's Elastic IP, or null. */
    private record Eni(String id, String vpcId, String subnetId, String zone, String ip, String mac, String status, String description,
                       List<String[]> groups, Map<String, String> tags, String type, String publicIp, String allocationId,
                       String associationId) {
    }

    private final Database db;

    NetworkInterfaceActions(Database db) {
        this.db = db;
    }

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("NetworkInterfaceId");
        Filters filters = Filters.parse(p, FILTERS);
        List<Eni> enis = db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
            List<Eni> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT e.id, e.vpc_id, e.subnet_id, s.availability_zone, e.private_ip, e.mac, e.status,"
                    + " e.unused_since, e.description FROM network_interfaces e JOIN subnets s ON s.id = e.subnet_id WHERE e.account_id = ?"
                    + " ORDER BY e.created_at, e.id", account); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String status = EniState.ofStored(r.getString(7)).ec2Status(r.getTimestamp(8) != null);
                    List<String[]> groups = new ArrayList<>();
                    try (PreparedStatement g = Sql.prepare(c, "SELECT m.group_id, sg.name FROM network_interface_groups m JOIN security_groups sg"
                            + " ON sg.id = m.group_id WHERE m.eni_id = ? ORDER BY m.group_id", r.getString(1)); ResultSet gr = g.executeQuery()) {
                        while (gr.next()) {
                            groups.add(new String[] {gr.getString(1), gr.getString(2)});
                        }
                    }
                    out.add(new Eni(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6), status,
                            r.getString(9), groups, tags.getOrDefault(r.getString(1), Map.of()), LAMBDA, null, null, null));
                }
            }
            try (PreparedStatement s = Sql.prepare(c, "SELECT n.eni_id, n.vpc_id, n.subnet_id, s.availability_zone, n.private_ip, n.mac, n.id,"
                    + " n.public_ip, n.allocation_id, n.association_id, n.state FROM nat_gateways n JOIN subnets s ON s.id = n.subnet_id"
                    + " WHERE n.account_id = ? AND n.mac IS NOT NULL ORDER BY n.created_at, n.id", account); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    // The Elastic IP is the interface's while the gateway has it (pending or available).
                    boolean associated = NatGatewayState.ofStored(r.getString(11)).published();
                    out.add(new Eni(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6), "in-use",
                            "Interface for NAT Gateway " + r.getString(7), List.of(), Map.of(), NAT_GATEWAY,
                            associated ? r.getString(8) : null, associated ? r.getString(9) : null, associated ? r.getString(10) : null));
                }
            }
            return out;
        });
        for (String id : ids) {
            if (enis.stream().noneMatch(e -> e.id().equals(id))) {
                throw notFound(id);
            }
        }
        Xml x = new Xml().openRoot("DescribeNetworkInterfacesResponse").element("requestId", requestId).open("networkInterfaceSet");
        for (Eni e : enis) {
            if (!ids.isEmpty() && !ids.contains(e.id())) {
                continue;
            }
            if (!filters.matches(name -> attribute(e, account, name), e.tags())) {
                continue;
            }
            x.open("item").element("networkInterfaceId", e.id()).element("subnetId", e.subnetId()).element("vpcId", e.vpcId())
                    .element("availabilityZone", e.zone()).element("description", e.description()).element("ownerId", account)
                    .element("requesterId", e.type().equals(LAMBDA) ? "AWS Lambda" : "amazon").element("requesterManaged", true)
                    .element("status", e.status())
                    .element("macAddress", e.mac()).element("privateIpAddress", e.ip()).element("sourceDestCheck", true).open("groupSet");
            for (String[] g : e.groups()) {
                x.open("item").element("groupId", g[0]).element("groupName", g[1]).close("item");
            }
            x.close("groupSet");
            association(x, e, account);
            x.open("tagSet");
            e.tags().forEach((k, v) -> x.open("item").element("key", k).element("value", v).close("item"));
            x.close("tagSet").open("privateIpAddressesSet").open("item").element("privateIpAddress", e.ip()).element("primary", true);
            association(x, e, account);
            x.close("item").close("privateIpAddressesSet").empty("ipv6AddressesSet").element("interfaceType", e.type()).close("item");
        }
        return x.close("networkInterfaceSet").close("DescribeNetworkInterfacesResponse").toString();
    }

    private static void association(Xml x, Eni e, String account) {
        if (e.publicIp() != null) {
            x.open("association").element("publicIp", e.publicIp()).element("ipOwnerId", account).element("allocationId", e.allocationId())
                    .element("associationId", e.associationId()).close("association");
        }
    }

    private static List<String> attribute(Eni e, String account, String name) {
        return switch (name) {
            case "network-interface-id" -> List.of(e.id());
            case "subnet-id" -> List.of(e.subnetId());
            case "vpc-id" -> List.of(e.vpcId());
            case "interface-type" -> List.of(e.type());
            case "requester-managed" -> List.of("true");
            case "status" -> List.of(e.status());
            case "group-id" -> e.groups().stream().map(g -> g[0]).toList();
            case "private-ip-address", "addresses.private-ip-address" -> List.of(e.ip());
            case "description" -> List.of(e.description());
            case "owner-id" -> List.of(account);
            case "availability-zone" -> List.of(e.zone());
            case "mac-address" -> List.of(e.mac());
            default -> List.of();
        };
    }

    String delete(String account, QueryParams p, String requestId) {
        String id = p.required("NetworkInterfaceId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (Sql.count(c, "SELECT COUNT(*) FROM nat_gateways WHERE eni_id = ? AND account_id = ? AND mac IS NOT NULL", id, account) > 0) {
                throw Ec2Error.client("InvalidParameterValue", "Network interface '" + id + "' is currently in use.");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE id = ? AND account_id = ?", id, account) == 0) {
                throw notFound(id);
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM function_enis WHERE eni_id = ?", id) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM execution_environments WHERE eni_id = ?", id) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE id = ? AND unused_since IS NULL", id) > 0) {
                throw Ec2Error.client("InvalidParameterValue", "Network interface '" + id + "' is currently in use.");
            }
            EniStore.delete(c, id);
            return null;
        });
        return Ec2Api.returnTrue("DeleteNetworkInterfaceResponse", requestId);
    }

    private static Ec2Error notFound(String id) {
        return Ec2Error.client("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '" + id + "' does not exist");
    }
}
