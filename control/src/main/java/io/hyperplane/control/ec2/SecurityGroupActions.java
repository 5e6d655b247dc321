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
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup and Authorize/Revoke
 * SecurityGroupIngress/Egress. A new group allows all egress and no ingress (EC2 user guide,
 * "Security group rules"); rules name a CIDR or another group of the account.
 */
final class SecurityGroupActions {
    /** One stored rule: protocol "tcp", "udp", "icmp", "-1" or a number; ports -1 when not applicable. */
    record Rule(boolean egress, String protocol, int fromPort, int toPort, String cidr, String groupId) {
    }

    record Group(String id, String accountId, String vpcId, String name, String description, boolean isDefault,
                 List<Rule> rules, Map<String, String> tags) {
    }

    /** EC2 API reference, CreateSecurityGroup: name and description "up to 255 characters in length". */
    private static final int MAX_NAME = 255;
    private static final int MAX_DESCRIPTION = 255;

    private final Database db;
    private final Ec2Quotas quotas;

    SecurityGroupActions(Database db, Ec2Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
    }

    String create(String account, QueryParams p, String requestId) {
        String name = p.required("GroupName");
        String description = p.required("GroupDescription");
        String vpcId = p.get("VpcId");
        if (vpcId == null) {
            throw Ec2Error.client("VPCIdNotSpecified", "No default VPC for this user");
        }
        if (name.equals(VpcDefaults.DEFAULT_GROUP_NAME)) {
            throw Ec2Error.client("InvalidGroup.Reserved", "The security group 'default' is reserved");
        }
        if (name.startsWith("sg-") || name.length() > MAX_NAME) {
            throw Ec2Error.invalidValue("GroupName", name, "Group names may not be in the format sg-* and have at most " + MAX_NAME + " characters.");
        }
        if (description.length() > MAX_DESCRIPTION) {
            throw Ec2Error.invalidValue("GroupDescription", description, "Group descriptions have at most " + MAX_DESCRIPTION + " characters.");
        }
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "security-group");
        String id = db.inTransaction(c -> {
            Accounts.lock(c, account);
            VpcStore.requireVpc(c, account, vpcId);
            if (Sql.count(c, "SELECT COUNT(*) FROM security_groups WHERE vpc_id = ? AND name = ?", vpcId, name) > 0) {
                throw Ec2Error.client("InvalidGroup.Duplicate", "The security group '" + name + "' already exists for VPC '" + vpcId + "'");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM security_groups WHERE vpc_id = ?", vpcId) >= quotas.securityGroupsPerVpc()) {
                throw Ec2Quotas.securityGroupLimitExceeded(vpcId);
            }
            String group = Ids.next("sg");
            Sql.update(c, "INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at) VALUES (?, ?, ?, ?, ?, FALSE, ?)",
                    group, account, vpcId, name, description, Timestamp.from(Instant.now()));
            insertRule(c, group, new Rule(true, "-1", -1, -1, "0.0.0.0/0", null));
            VpcStore.putTags(c, account, group, tags);
            return group;
        });
        Xml x = new Xml().openRoot("CreateSecurityGroupResponse").element("requestId", requestId).element("return", "true")
                .element("groupId", id).element("securityGroupArn", arn(account, id));
        Ec2Api.tagSet(x, tags);
        return x.close("CreateSecurityGroupResponse").toString();
    }

    private static final Set<String> FILTERS = Set.of("group-id", "group-name", "vpc-id", "description", "owner-id");

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("GroupId");
        List<String> names = p.list("GroupName");
        Filters filters = Filters.parse(p, FILTERS);
        List<Group> groups = groups(account);
        for (String id : ids) {
            if (groups.stream().noneMatch(g -> g.id().equals(id))) {
                throw Ec2Error.client("InvalidGroup.NotFound", "The security group '" + id + "' does not exist");
            }
        }
        Xml x = new Xml().openRoot("DescribeSecurityGroupsResponse").element("requestId", requestId).open("securityGroupInfo");
        for (Group g : groups) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "group-id" -> List.of(g.id());
                case "group-name" -> List.of(g.name());
                case "vpc-id" -> List.of(g.vpcId());
                case "description" -> List.of(g.description());
                case "owner-id" -> List.of(g.accountId());
                default -> List.of();
            };
            if ((ids.isEmpty() || ids.contains(g.id())) && (names.isEmpty() || names.contains(g.name()))
                    && filters.matches(attributes, g.tags())) {
                x.open("item").element("ownerId", g.accountId()).element("groupId", g.id())
                        .element("securityGroupArn", arn(g.accountId(), g.id())).element("groupName", g.name())
                        .element("groupDescription", g.description()).element("vpcId", g.vpcId());
                permissions(x, "ipPermissions", g, false);
                permissions(x, "ipPermissionsEgress", g, true);
                Ec2Api.tagSet(x, g.tags());
                x.close("item");
            }
        }
        return x.close("securityGroupInfo").close("DescribeSecurityGroupsResponse").toString();
    }

    private static String arn(String account, String groupId) {
        return "arn:aws:ec2:us-east-1:" + account + ":security-group/" + groupId;
    }

    /** EC2 lists rules grouped by (protocol, ports), each with its CIDRs and groups. */
    private static void permissions(Xml x, String element, Group g, boolean egress) {
        Map<String, List<Rule>> byPorts = new LinkedHashMap<>();
        for (Rule r : g.rules()) {
            if (r.egress() == egress) {
                byPorts.computeIfAbsent(r.protocol() + "/" + r.fromPort() + "/" + r.toPort(), k -> new ArrayList<>()).add(r);
            }
        }
        if (byPorts.isEmpty()) {
            x.empty(element);
            return;
        }
        x.open(element);
        for (List<Rule> rules : byPorts.values()) {
            Rule first = rules.getFirst();
            x.open("item").element("ipProtocol", first.protocol());
            if (!first.protocol().equals("-1")) {
                x.element("fromPort", first.fromPort()).element("toPort", first.toPort());
            }
            x.open("groups");
            rules.stream().filter(r -> r.groupId() != null)
                    .forEach(r -> x.open("item").element("userId", g.accountId()).element("groupId", r.groupId()).close("item"));
            x.close("groups").open("ipRanges");
            rules.stream().filter(r -> r.cidr() != null).forEach(r -> x.open("item").element("cidrIp", r.cidr()).close("item"));
            x.close("ipRanges").empty("ipv6Ranges").empty("prefixListIds").close("item");
        }
        x.close(element);
    }

    String delete(String account, QueryParams p, String requestId) {
        String id = p.required("GroupId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            Group g = requireGroup(c, account, id);
            if (g.isDefault()) {
                throw Ec2Error.client("CannotDelete", "the specified group: \"" + id + "\" name: \"default\" cannot be deleted by a user");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM security_group_rules WHERE referenced_group_id = ? AND group_id <> ?", id, id) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM instance_security_groups m JOIN instances i ON i.id = m.instance_id"
                    + " WHERE m.group_id = ? AND i.state <> 'terminated'", id) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM network_interface_groups WHERE group_id = ?", id) > 0) {
                throw Ec2Error.client("DependencyViolation", "resource " + id + " has a dependent object");
            }
            Sql.update(c, "DELETE FROM security_group_rules WHERE group_id = ?", id);
            Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", id);
            Sql.update(c, "DELETE FROM security_groups WHERE id = ?", id);
            return null;
        });
        return Ec2Api.returnTrue("DeleteSecurityGroupResponse", requestId);
    }

    /** Authorize (add) or revoke (remove) rules; all of the call's rules or none. */
    String change(String account, QueryParams p, String requestId, boolean egress, boolean authorize) {
        String id = p.required("GroupId");
        String action = (authorize ? "Authorize" : "Revoke") + "SecurityGroup" + (egress ? "Egress" : "Ingress");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            Group g = requireGroup(c, account, id);
            List<Rule> rules = rules(p, egress);
            if (rules.isEmpty()) {
                throw Ec2Error.missing("IpPermissions");
            }
            for (Rule r : rules) {
                if (r.groupId() != null) {
                    Group other = requireGroup(c, account, r.groupId());
                    if (!other.vpcId().equals(g.vpcId())) {
                        throw Ec2Error.client("InvalidGroup.NotFound", "You have specified two resources that belong to different networks.");
                    }
                }
                boolean exists = g.rules().contains(r);
                if (authorize && exists) {
                    throw Ec2Error.client("InvalidPermission.Duplicate", "the specified rule \"peer: " + (r.cidr() != null ? r.cidr() : r.groupId())
                            + ", " + r.protocol().toUpperCase(Locale.ROOT) + ", from port: " + r.fromPort() + ", to port: " + r.toPort() + ", ALLOW\" already exists");
                }
                if (!authorize && !exists) {
                    throw Ec2Error.client("InvalidPermission.NotFound", "The specified rule does not exist in this security group.");
                }
            }
            // Inbound and outbound rules count apart (Amazon VPC quotas, "Inbound or outbound rules per security group").
            if (authorize && Sql.count(c, "SELECT COUNT(*) FROM security_group_rules WHERE group_id = ? AND egress = ?", id, egress) + rules.size()
                    > quotas.rulesPerGroup()) {
                throw Ec2Quotas.rulesPerSecurityGroupLimitExceeded();
            }
            for (Rule r : rules) {
                if (authorize) {
                    insertRule(c, id, r);
                } else {
                    Sql.update(c, "DELETE FROM security_group_rules WHERE group_id = ? AND egress = ? AND protocol = ? AND from_port = ? AND to_port = ?"
                                    + " AND " + (r.cidr() != null ? "cidr = ?" : "referenced_group_id = ?"),
                            id, egress, r.protocol(), r.fromPort(), r.toPort(), r.cidr() != null ? r.cidr() : r.groupId());
                }
            }
            return null;
        });
        return Ec2Api.returnTrue(action + "Response", requestId);
    }

    /** The rules a call names: IpPermissions.N (with IpRanges.M.CidrIp and Groups.M.GroupId) or the flat legacy form. */
    private static List<Rule> rules(QueryParams p, boolean egress) {
        List<Rule> rules = new ArrayList<>();
        for (QueryParams perm : p.structures("IpPermissions")) {
            String protocol = protocol(perm.get("IpProtocol"));
            int[] ports = ports(protocol, perm.get("FromPort"), perm.get("ToPort"));
            for (QueryParams range : perm.structures("IpRanges")) {
                rules.add(new Rule(egress, protocol, ports[0], ports[1], cidr(range.get("CidrIp")), null));
            }
            for (QueryParams pair : perm.structures("Groups")) {
                String group = pair.get("GroupId");
                if (group == null) {
                    throw Ec2Error.missing("IpPermissions.N.Groups.M.GroupId");
                }
                rules.add(new Rule(egress, protocol, ports[0], ports[1], null, group));
            }
        }
        if (p.get("IpProtocol") != null || p.get("CidrIp") != null) {
            String protocol = protocol(p.get("IpProtocol"));
            int[] ports = ports(protocol, p.get("FromPort"), p.get("ToPort"));
            if (p.get("CidrIp") != null) {
                rules.add(new Rule(egress, protocol, ports[0], ports[1], cidr(p.get("CidrIp")), null));
            }
            if (p.get("SourceSecurityGroupId") != null) {
                rules.add(new Rule(egress, protocol, ports[0], ports[1], null, p.get("SourceSecurityGroupId")));
            }
        }
        return rules;
    }

    static String protocol(String text) {
        if (text == null) {
            throw Ec2Error.missing("IpProtocol");
        }
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "tcp", "6" -> "tcp";
            case "udp", "17" -> "udp";
            case "icmp", "1" -> "icmp";
            case "-1", "all" -> "-1";
            default -> {
                try {
                    int n = Integer.parseInt(text);
                    if (n < 0 || n > 255) {
                        throw new NumberFormatException();
                    }
                    yield String.valueOf(n);
                } catch (NumberFormatException e) {
                    throw Ec2Error.invalidValue("IpProtocol", text, "Protocols are tcp, udp, icmp, -1 or a number 0-255.");
                }
            }
        };
    }

    /** Ports for TCP/UDP (0..65535, from <= to); ICMP type and code (-1 = all); -1/-1 otherwise. */
    private static int[] ports(String protocol, String from, String to) {
        if (protocol.equals("tcp") || protocol.equals("udp")) {
            int f = number(from, "FromPort");
            int t = number(to, "ToPort");
            if (f < 0 || t > 65535 || f > t) {
                throw Ec2Error.client("InvalidParameterValue", "Invalid port range " + f + "-" + t + ": ports are 0..65535 and fromPort <= toPort");
            }
            return new int[] {f, t};
        }
        if (protocol.equals("icmp")) {
            return new int[] {from == null ? -1 : number(from, "FromPort"), to == null ? -1 : number(to, "ToPort")};
        }
        return new int[] {-1, -1};
    }

    /** A whole number parameter; anything else is InvalidParameterValue (never a failure of ours). */
    static int number(String text, String name) {
        if (text == null) {
            throw Ec2Error.missing(name);
        }
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw Ec2Error.invalidValue(name, text, "It is not a number.");
        }
    }

    private static String cidr(String text) {
        if (text == null) {
            throw Ec2Error.missing("CidrIp");
        }
        try {
            return Ipv4Cidr.parse(text).toString();
        } catch (IllegalArgumentException e) {
            throw Ec2Error.invalidValue("cidrIp", text, "CIDR block " + text + " is malformed");
        }
    }

    private static void insertRule(Connection c, String group, Rule r) throws SQLException {
        Sql.update(c, "INSERT INTO security_group_rules (id, group_id, egress, protocol, from_port, to_port, cidr, referenced_group_id)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Ids.next("sgr"), group, r.egress(), r.protocol(), r.fromPort(), r.toPort(), r.cidr(), r.groupId());
    }

    List<Group> groups(String account) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
            Map<String, List<Rule>> rules = new LinkedHashMap<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT r.group_id, r.egress, r.protocol, r.from_port, r.to_port, r.cidr, r.referenced_group_id"
                    + " FROM security_group_rules r JOIN security_groups g ON g.id = r.group_id WHERE g.account_id = ? ORDER BY r.id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    rules.computeIfAbsent(r.getString(1), k -> new ArrayList<>())
                            .add(new Rule(r.getBoolean(2), r.getString(3), r.getInt(4), r.getInt(5), r.getString(6), r.getString(7)));
                }
            }
            List<Group> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, name, description, is_default FROM security_groups WHERE account_id = ?"
                    + " ORDER BY created_at, id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String id = r.getString(1);
                    out.add(new Group(id, account, r.getString(2), r.getString(3), r.getString(4), r.getBoolean(5),
                            rules.getOrDefault(id, List.of()), tags.getOrDefault(id, Map.of())));
                }
            }
            return out;
        });
    }

    private Group requireGroup(Connection c, String account, String id) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT vpc_id, name, description, is_default FROM security_groups WHERE id = ? AND account_id = ?", id, account);
             ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                throw Ec2Error.client("InvalidGroup.NotFound", "The security group '" + id + "' does not exist");
            }
            List<Rule> rules = new ArrayList<>();
            try (PreparedStatement q = Sql.prepare(c, "SELECT egress, protocol, from_port, to_port, cidr, referenced_group_id FROM security_group_rules WHERE group_id = ?", id);
                 ResultSet rr = q.executeQuery()) {
                while (rr.next()) {
                    rules.add(new Rule(rr.getBoolean(1), rr.getString(2), rr.getInt(3), rr.getInt(4), rr.getString(5), rr.getString(6)));
                }
            }
            return new Group(id, account, r.getString(1), r.getString(2), r.getString(3), r.getBoolean(4), rules, Map.of());
        }
    }
}
