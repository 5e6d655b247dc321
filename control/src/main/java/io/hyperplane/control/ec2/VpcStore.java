package io.hyperplane.control.ec2;

import io.hyperplane.config.fabric.SystemRanges;
import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
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

/**
 * VPCs, subnets and tags in the store, with EC2's rules. Every mutation takes the account's lock
 * first, validates against what exists, then writes: one transaction, so a refused call changes
 * nothing and a crash leaves either all of a call or none of it.
 */
final class VpcStore {
    static final int MIN_PREFIX = 16; // EC2: "The allowed block size is between a /16 netmask and /28 netmask"
    static final int MAX_PREFIX = 28;
    /** AWS reserves the first four and the last address of every subnet. */
    static final int RESERVED_ADDRESSES = 5;
    static final List<String> AVAILABILITY_ZONES = List.of("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d",
            "us-east-1e", "us-east-1f");

    record Vpc(String id, String accountId, String cidr, Map<String, String> tags) {
    }

    record Subnet(String id, String accountId, String vpcId, String cidr, String availabilityZone, int vni,
                  Map<String, String> tags, boolean mapPublicIpOnLaunch) {
        long availableAddresses() {
            return Ipv4Cidr.parse(cidr).size() - RESERVED_ADDRESSES;
        }
    }

    private final Database db;
    private final Ec2Quotas quotas;

    VpcStore(Database db, Ec2Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
    }

    // ---- VPCs

    Vpc createVpc(String accountId, String cidrText, Map<String, String> tags) {
        Ipv4Cidr cidr = blockOf(cidrText, "cidrBlock", "InvalidVpc.Range");
        return db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            if (Sql.count(c, "SELECT COUNT(*) FROM vpcs WHERE account_id = ?", accountId) >= quotas.vpcsPerRegion()) {
                throw Ec2Quotas.vpcLimitExceeded();
            }
            String id = Ids.next("vpc");
            String vtep = IdPool.VPC_VTEP.format(take(c, IdPool.VPC_VTEP, Ec2Quotas.vpcLimitExceeded()));
            Sql.update(c, "INSERT INTO vpcs (id, account_id, cidr, created_at, vtep_ip) VALUES (?, ?, ?, ?, ?)",
                    id, accountId, cidr.toString(), Timestamp.from(Instant.now()), vtep);
            putTags(c, accountId, id, tags);
            VpcDefaults.create(c, accountId, id, cidr.toString());
            return new Vpc(id, accountId, cidr.toString(), tags);
        });
    }

    List<Vpc> vpcs(String accountId) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = tags(c, accountId);
            List<Vpc> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT id, cidr FROM vpcs WHERE account_id = ? ORDER BY created_at, id")) {
                s.setString(1, accountId);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new Vpc(r.getString(1), accountId, r.getString(2), tags.getOrDefault(r.getString(1), Map.of())));
                    }
                }
            }
            return out;
        });
    }

    void deleteVpc(String accountId, String vpcId) {
        db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            requireVpc(c, accountId, vpcId);
            // Subnets, an attached internet gateway and anything the user made in the VPC must go first; the defaults go with it.
            if (Sql.count(c, "SELECT COUNT(*) FROM subnets WHERE vpc_id = ?", vpcId) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM internet_gateways WHERE vpc_id = ?", vpcId) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM security_groups WHERE vpc_id = ? AND NOT is_default", vpcId) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM network_acls WHERE vpc_id = ? AND NOT is_default", vpcId) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM route_tables t WHERE vpc_id = ? AND NOT EXISTS "
                    + "(SELECT 1 FROM route_table_associations a WHERE a.route_table_id = t.id AND a.is_main)", vpcId) > 0) {
                throw Ec2Error.client("DependencyViolation", "The vpc '" + vpcId + "' has dependencies and cannot be deleted.");
            }
            VpcDefaults.delete(c, vpcId);
            deleteTags(c, vpcId);
            String vtep = Sql.strings(c, "SELECT vtep_ip FROM vpcs WHERE id = ?", vpcId).getFirst();
            Sql.update(c, "DELETE FROM vpcs WHERE id = ?", vpcId);
            IdPool.VPC_VTEP.releaseStored(c, vtep);
            return null;
        });
    }

    // ---- subnets

    Subnet createSubnet(String accountId, String vpcId, String cidrText, String zone, Map<String, String> tags) {
        Ipv4Cidr cidr = blockOf(cidrText, "cidrBlock", "InvalidSubnet.Range");
        String availabilityZone = zone == null ? AVAILABILITY_ZONES.getFirst() : zone;
        if (!AVAILABILITY_ZONES.contains(availabilityZone)) {
            throw Ec2Error.invalidValue("availabilityZone", availabilityZone,
                    "Subnets can currently only be created in the following availability zones: " + String.join(", ", AVAILABILITY_ZONES) + ".");
        }
        return db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            Ipv4Cidr vpcCidr = Ipv4Cidr.parse(requireVpc(c, accountId, vpcId));
            if (Sql.count(c, "SELECT COUNT(*) FROM subnets WHERE vpc_id = ?", vpcId) >= quotas.subnetsPerVpc()) {
                throw Ec2Quotas.subnetLimitExceeded();
            }
            // Rule 1: a subnet lies inside its VPC's block.
            if (!vpcCidr.contains(cidr)) {
                throw Ec2Error.client("InvalidSubnet.Range", "The CIDR '" + cidr + "' is invalid.");
            }
            // Rule 2: subnets of one VPC never overlap.
            try (PreparedStatement s = c.prepareStatement("SELECT cidr FROM subnets WHERE vpc_id = ?")) {
                s.setString(1, vpcId);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        if (Ipv4Cidr.parse(r.getString(1)).overlaps(cidr)) {
                            throw Ec2Error.client("InvalidSubnet.Conflict", "The CIDR '" + cidr + "' conflicts with another subnet");
                        }
                    }
                }
            }
            String id = Ids.next("subnet");
            int vni = (int) take(c, IdPool.SUBNET_VNI, Ec2Quotas.subnetLimitExceeded());
            try (PreparedStatement s = c.prepareStatement("INSERT INTO subnets (id, account_id, vpc_id, cidr, availability_zone, vni, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                s.setString(1, id);
                s.setString(2, accountId);
                s.setString(3, vpcId);
                s.setString(4, cidr.toString());
                s.setString(5, availabilityZone);
                s.setInt(6, vni);
                s.setTimestamp(7, Timestamp.from(Instant.now()));
                s.executeUpdate();
            }
            putTags(c, accountId, id, tags);
            // A new subnet joins the VPC's default network ACL and, implicitly, its main route table.
            Sql.update(c, "INSERT INTO network_acl_associations (id, acl_id, subnet_id) SELECT ?, id, ? FROM network_acls"
                    + " WHERE vpc_id = ? AND is_default", Ids.next("aclassoc"), id, vpcId);
            return new Subnet(id, accountId, vpcId, cidr.toString(), availabilityZone, vni, tags, false);
        });
    }

    List<Subnet> subnets(String accountId) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = tags(c, accountId);
            List<Subnet> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT id, vpc_id, cidr, availability_zone, vni, map_public_ip_on_launch FROM subnets WHERE account_id = ? ORDER BY created_at, id")) {
                s.setString(1, accountId);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new Subnet(r.getString(1), accountId, r.getString(2), r.getString(3), r.getString(4), r.getInt(5),
                                tags.getOrDefault(r.getString(1), Map.of()), r.getBoolean(6)));
                    }
                }
            }
            return out;
        });
    }

    void deleteSubnet(String accountId, String subnetId) {
        db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            if (Sql.count(c, "SELECT COUNT(*) FROM subnets WHERE id = ? AND account_id = ?", subnetId, accountId) == 0) {
                throw Ec2Error.client("InvalidSubnetID.NotFound", "The subnet ID '" + subnetId + "' does not exist");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM instances WHERE subnet_id = ? AND state <> 'terminated'", subnetId) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE subnet_id = ?", subnetId) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM nat_gateways WHERE subnet_id = ? AND state NOT IN ('deleted', 'failed')", subnetId) > 0) {
                throw Ec2Error.client("DependencyViolation", "The subnet '" + subnetId + "' has dependencies and cannot be deleted.");
            }
            Sql.update(c, "DELETE FROM network_acl_associations WHERE subnet_id = ?", subnetId);
            Sql.update(c, "DELETE FROM route_table_associations WHERE subnet_id = ?", subnetId);
            long vni = Sql.count(c, "SELECT vni FROM subnets WHERE id = ?", subnetId);
            Sql.update(c, "DELETE FROM subnets WHERE id = ?", subnetId);
            IdPool.SUBNET_VNI.release(c, vni);
            deleteTags(c, subnetId);
            return null;
        });
    }

    /** ModifySubnetAttribute MapPublicIpOnLaunch. */
    void mapPublicIpOnLaunch(String accountId, String subnetId, boolean map) {
        db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            if (Sql.update(c, "UPDATE subnets SET map_public_ip_on_launch = ? WHERE id = ? AND account_id = ?", map, subnetId, accountId) == 0) {
                throw Ec2Error.client("InvalidSubnetID.NotFound", "The subnet ID '" + subnetId + "' does not exist");
            }
            return null;
        });
    }

    /** The VPC's DNS attributes (DescribeVpcAttribute). */
    record DnsAttributes(boolean support, boolean hostnames) {
    }

    DnsAttributes dnsAttributes(String accountId, String vpcId) {
        return db.inTransaction(c -> {
            requireVpc(c, accountId, vpcId);
            try (PreparedStatement s = Sql.prepare(c, "SELECT enable_dns_support, enable_dns_hostnames FROM vpcs WHERE id = ?", vpcId);
                 ResultSet r = s.executeQuery()) {
                r.next();
                return new DnsAttributes(r.getBoolean(1), r.getBoolean(2));
            }
        });
    }

    /** ModifyVpcAttribute: one attribute, its column named by the caller (never a tenant's text). */
    void setDnsAttribute(String accountId, String vpcId, String column, boolean value) {
        db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            requireVpc(c, accountId, vpcId);
            Sql.update(c, "UPDATE vpcs SET " + column + " = ? WHERE id = ?", value, vpcId);
            return null;
        });
    }

    // ---- tags

    /** CreateTags: every resource must exist in this account, or nothing is tagged. */
    void createTags(String accountId, List<String> resourceIds, Map<String, String> tags) {
        db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            for (String id : resourceIds) {
                requireResource(c, accountId, id);
            }
            for (String id : resourceIds) {
                putTags(c, accountId, id, tags);
            }
            return null;
        });
    }

    void deleteTags(String accountId, List<String> resourceIds, Map<String, String> tags) {
        db.inTransaction(c -> {
            Accounts.lock(c, accountId);
            for (String id : resourceIds) {
                requireResource(c, accountId, id);
            }
            for (String id : resourceIds) {
                for (Map.Entry<String, String> tag : tags.entrySet()) {
                    if (tag.getValue() == null) {
                        Sql.update(c, "DELETE FROM tags WHERE resource_id = ? AND tag_key = ?", id, tag.getKey());
                    } else {
                        Sql.update(c, "DELETE FROM tags WHERE resource_id = ? AND tag_key = ? AND tag_value = ?", id, tag.getKey(), tag.getValue());
                    }
                }
            }
            return null;
        });
    }

    /** All tags of the account: resource id -> key -> value. */
    Map<String, Map<String, String>> tags(String accountId) {
        return db.inTransaction(c -> tags(c, accountId));
    }

    static Map<String, Map<String, String>> tags(Connection c, String accountId) throws SQLException {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        try (PreparedStatement s = c.prepareStatement("SELECT resource_id, tag_key, tag_value FROM tags WHERE account_id = ? ORDER BY resource_id, tag_key")) {
            s.setString(1, accountId);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.computeIfAbsent(r.getString(1), k -> new LinkedHashMap<>()).put(r.getString(2), r.getString(3));
                }
            }
        }
        return out;
    }

    static void putTags(Connection c, String accountId, String resourceId, Map<String, String> tags) throws SQLException {
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            Sql.update(c, "DELETE FROM tags WHERE resource_id = ? AND tag_key = ?", resourceId, tag.getKey());
            Sql.update(c, "INSERT INTO tags (resource_id, account_id, tag_key, tag_value) VALUES (?, ?, ?, ?)",
                    resourceId, accountId, tag.getKey(), tag.getValue() == null ? "" : tag.getValue());
        }
    }

    private static void deleteTags(Connection c, String resourceId) throws SQLException {
        Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", resourceId);
    }

    // ---- helpers

    /**
     * A value from one of the region's pools; when every value is held (the region, not the account,
     * is full) the refusal is EC2's limit error for the resource.
     */
    private static long take(Connection c, IdPool pool, Ec2Error whenFull) throws SQLException {
        try {
            return pool.take(c);
        } catch (IdPool.Exhausted e) {
            throw whenFull;
        }
    }

    /**
     * Parses a block for a VPC or subnet: malformed text is one of EC2's errors; sizes outside
     * /16../28 and blocks overlapping the system's ranges are the other.
     */
    private static Ipv4Cidr blockOf(String text, String parameter, String rangeCode) {
        if (text == null || text.isEmpty()) {
            throw Ec2Error.missing(parameter.substring(0, 1).toUpperCase() + parameter.substring(1));
        }
        Ipv4Cidr cidr;
        try {
            cidr = Ipv4Cidr.parse(text);
        } catch (IllegalArgumentException e) {
            throw Ec2Error.invalidValue(parameter, text, "This is not a valid CIDR block.");
        }
        if (cidr.prefixLength() < MIN_PREFIX || cidr.prefixLength() > MAX_PREFIX) {
            throw Ec2Error.client(rangeCode, "The CIDR '" + text + "' is invalid.");
        }
        // The system's own ranges (the underlay, the execution environments') are refused as AWS
        // refuses its restricted ones, with the same error. A limitation: AWS allows both in a VPC.
        if (SystemRanges.overlapping(cidr).isPresent()) {
            throw Ec2Error.client(rangeCode, "The CIDR '" + text + "' is invalid.");
        }
        return cidr;
    }

    /** The VPC's CIDR; another account's VPC is as unknown as a missing one. */
    static String requireVpc(Connection c, String accountId, String vpcId) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT cidr FROM vpcs WHERE id = ? AND account_id = ?")) {
            s.setString(1, vpcId);
            s.setString(2, accountId);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw Ec2Error.client("InvalidVpcID.NotFound", "The vpc ID '" + vpcId + "' does not exist");
                }
                return r.getString(1);
            }
        }
    }

    /** Tags may go on any resource of the account: the table and error code by id prefix. */
    private static void requireResource(Connection c, String accountId, String id) throws SQLException {
        record Kind(String table, String notFound, String noun, String idColumn) {
            Kind(String table, String notFound, String noun) {
                this(table, notFound, noun, "id");
            }
        }
        Kind kind = switch (id.substring(0, Math.max(0, id.indexOf('-')))) {
            case "vpc" -> new Kind("vpcs", "InvalidVpcID.NotFound", "vpc ID");
            case "subnet" -> new Kind("subnets", "InvalidSubnetID.NotFound", "subnet ID");
            case "sg" -> new Kind("security_groups", "InvalidGroup.NotFound", "security group");
            case "acl" -> new Kind("network_acls", "InvalidNetworkAclID.NotFound", "network ACL ID");
            case "rtb" -> new Kind("route_tables", "InvalidRouteTableID.NotFound", "route table ID");
            case "i" -> new Kind("instances", "InvalidInstanceID.NotFound", "instance ID");
            case "igw" -> new Kind("internet_gateways", "InvalidInternetGatewayID.NotFound", "internetGateway ID");
            case "eipalloc" -> new Kind("elastic_ips", "InvalidAllocationID.NotFound", "allocation ID", "allocation_id");
            case "nat" -> new Kind("nat_gateways", "InvalidNatGatewayID.NotFound", "natGateway ID");
            default -> throw Ec2Error.client("InvalidID", "The ID '" + id + "' is not valid");
        };
        if (Sql.count(c, "SELECT COUNT(*) FROM " + kind.table() + " WHERE " + kind.idColumn() + " = ? AND account_id = ?", id, accountId) == 0) {
            throw Ec2Error.client(kind.notFound(), "The " + kind.noun() + " '" + id + "' does not exist");
        }
    }
}
