package io.hyperplane.control.ec2;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * CreateInternetGateway, AttachInternetGateway, DetachInternetGateway, DeleteInternetGateway,
 * DescribeInternetGateways. A gateway is attached to at most one VPC and a VPC has at most one
 * (VPC user guide, "Internet gateways"); while attached it maps the VPC's public addresses one to
 * one, so it is not detached while the VPC has any, nor deleted while attached.
 */
final class InternetGatewayActions {
    private static final Set<String> FILTERS = Set.of("attachment.state", "attachment.vpc-id", "internet-gateway-id", "owner-id");

    record Gateway(String id, String accountId, String vpcId, Map<String, String> tags) {
    }

    private final Database db;

    InternetGatewayActions(Database db) {
        this.db = db;
    }

    String create(String account, QueryParams p, String requestId) {
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "internet-gateway");
        String id = db.inTransaction(c -> {
            Accounts.lock(c, account);
            String igw = Ids.next("igw");
            Sql.update(c, "INSERT INTO internet_gateways (id, account_id, vpc_id, created_at) VALUES (?, ?, NULL, ?)", igw, account,
                    Timestamp.from(Instant.now()));
            VpcStore.putTags(c, account, igw, tags);
            return igw;
        });
        Xml x = new Xml().openRoot("CreateInternetGatewayResponse").element("requestId", requestId).open("internetGateway");
        render(x, new Gateway(id, account, null, tags));
        return x.close("internetGateway").close("CreateInternetGatewayResponse").toString();
    }

    String attach(String account, QueryParams p, String requestId) {
        String id = p.required("InternetGatewayId");
        String vpcId = p.required("VpcId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            String attached = requireGateway(c, account, id);
            VpcStore.requireVpc(c, account, vpcId);
            if (attached != null) {
                throw Ec2Error.client("Resource.AlreadyAssociated", "resource " + id + " is already attached to network " + attached);
            }
            Optional<String> other = attachedTo(c, vpcId);
            if (other.isPresent()) {
                throw Ec2Error.client("Resource.AlreadyAssociated", "Network " + vpcId + " already has an internet gateway attached ("
                        + other.get() + ")");
            }
            Sql.update(c, "UPDATE internet_gateways SET vpc_id = ? WHERE id = ?", vpcId, id);
            return null;
        });
        return Ec2Api.returnTrue("AttachInternetGatewayResponse", requestId);
    }

    String detach(String account, QueryParams p, String requestId) {
        String id = p.required("InternetGatewayId");
        String vpcId = p.required("VpcId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            String attached = requireGateway(c, account, id);
            VpcStore.requireVpc(c, account, vpcId);
            if (!vpcId.equals(attached)) {
                throw Ec2Error.client("Gateway.NotAttached", "resource " + id + " is not attached to network " + vpcId);
            }
            if (hasMappedPublicAddresses(c, vpcId)) {
                throw Ec2Error.client("DependencyViolation", "Network " + vpcId
                        + " has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.");
            }
            Sql.update(c, "UPDATE internet_gateways SET vpc_id = NULL WHERE id = ?", id);
            return null;
        });
        return Ec2Api.returnTrue("DetachInternetGatewayResponse", requestId);
    }

    String delete(String account, QueryParams p, String requestId) {
        String id = p.required("InternetGatewayId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (requireGateway(c, account, id) != null) {
                throw Ec2Error.client("DependencyViolation", "The internetGateway '" + id + "' has dependencies and cannot be deleted.");
            }
            Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", id);
            Sql.update(c, "DELETE FROM internet_gateways WHERE id = ?", id);
            return null;
        });
        return Ec2Api.returnTrue("DeleteInternetGatewayResponse", requestId);
    }

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("InternetGatewayId");
        Filters filters = Filters.parse(p, FILTERS);
        List<Gateway> all = gateways(account);
        for (String id : ids) {
            if (all.stream().noneMatch(g -> g.id().equals(id))) {
                throw notFound(id);
            }
        }
        Xml x = new Xml().openRoot("DescribeInternetGatewaysResponse").element("requestId", requestId).open("internetGatewaySet");
        for (Gateway g : all) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "attachment.state" -> g.vpcId() == null ? List.of() : List.of("available");
                case "attachment.vpc-id" -> g.vpcId() == null ? List.of() : List.of(g.vpcId());
                case "internet-gateway-id" -> List.of(g.id());
                case "owner-id" -> List.of(g.accountId());
                default -> List.of();
            };
            if ((ids.isEmpty() || ids.contains(g.id())) && filters.matches(attributes, g.tags())) {
                x.open("item");
                render(x, g);
                x.close("item");
            }
        }
        return x.close("internetGatewaySet").close("DescribeInternetGatewaysResponse").toString();
    }

    private static void render(Xml x, Gateway g) {
        if (g.vpcId() == null) {
            x.empty("attachmentSet");
        } else {
            // An attachment is "available" once made (EC2 API reference, InternetGatewayAttachment).
            x.open("attachmentSet").open("item").element("vpcId", g.vpcId()).element("state", "available").close("item").close("attachmentSet");
        }
        x.element("internetGatewayId", g.id()).element("ownerId", g.accountId());
        Ec2Api.tagSet(x, g.tags());
    }

    private List<Gateway> gateways(String account) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
            List<Gateway> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id FROM internet_gateways WHERE account_id = ? ORDER BY created_at, id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new Gateway(r.getString(1), account, r.getString(2), tags.getOrDefault(r.getString(1), Map.of())));
                }
            }
            return out;
        });
    }

    /** The VPC the gateway is attached to, or null; another account's gateway is as unknown as a missing one. */
    private static String requireGateway(Connection c, String account, String id) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT vpc_id FROM internet_gateways WHERE id = ? AND account_id = ?", id, account);
             ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                throw notFound(id);
            }
            return r.getString(1);
        }
    }

    private static Ec2Error notFound(String id) {
        return Ec2Error.client("InvalidInternetGatewayID.NotFound", "The internetGateway ID '" + id + "' does not exist");
    }

    /** The internet gateway attached to the VPC, if any. */
    static Optional<String> attachedTo(Connection c, String vpcId) throws SQLException {
        return Sql.strings(c, "SELECT id FROM internet_gateways WHERE vpc_id = ?", vpcId).stream().findFirst();
    }

    /**
     * Whether anything in the VPC has a public address the gateway maps: a live instance's public
     * IP, or an Elastic IP associated with an instance, ENI or NAT gateway in it.
     */
    static boolean hasMappedPublicAddresses(Connection c, String vpcId) throws SQLException {
        return Sql.count(c, "SELECT COUNT(*) FROM instances WHERE vpc_id = ? AND public_ip IS NOT NULL AND state <> 'terminated'", vpcId) > 0
                || Sql.count(c, "SELECT COUNT(*) FROM elastic_ips e JOIN instances i ON i.id = e.instance_id WHERE i.vpc_id = ?", vpcId) > 0
                || Sql.count(c, "SELECT COUNT(*) FROM elastic_ips e JOIN network_interfaces n ON n.id = e.network_interface_id"
                + " WHERE n.vpc_id = ?", vpcId) > 0
                || Sql.count(c, "SELECT COUNT(*) FROM elastic_ips e JOIN nat_gateways n ON n.eni_id = e.network_interface_id"
                + " WHERE n.vpc_id = ?", vpcId) > 0;
    }
}
