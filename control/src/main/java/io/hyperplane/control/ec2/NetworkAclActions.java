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
 * Network ACLs: CreateNetworkAcl, DescribeNetworkAcls, DeleteNetworkAcl, Create/Replace/
 * DeleteNetworkAclEntry, ReplaceNetworkAclAssociation. Rules are numbered 1..32766 per direction,
 * evaluated in order, first match wins; the final "*" rule (shown as 32767) denies everything. A
 * new custom ACL therefore denies all traffic until rules are added (VPC user guide, "Network ACLs").
 */
final class NetworkAclActions {
    static final int MAX_RULE = 32766; // EC2 limit
    static final int IMPLICIT_DENY_RULE = 32767; // the "*" rule as DescribeNetworkAcls shows it

    record Entry(boolean egress, int ruleNumber, String protocol, String action, String cidr, Integer from, Integer to,
                 Integer icmpType, Integer icmpCode) {
    }

    record Acl(String id, String accountId, String vpcId, boolean isDefault, List<Entry> entries,
               Map<String, String> associations, Map<String, String> tags) {
    }

    private final Database db;

    NetworkAclActions(Database db) {
        this.db = db;
    }

    String create(String account, QueryParams p, String requestId) {
        String vpcId = p.required("VpcId");
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "network-acl");
        String id = db.inTransaction(c -> {
            Accounts.lock(c, account);
            VpcStore.requireVpc(c, account, vpcId);
            String acl = Ids.next("acl");
            Sql.update(c, "INSERT INTO network_acls (id, account_id, vpc_id, is_default, created_at) VALUES (?, ?, ?, FALSE, ?)",
                    acl, account, vpcId, Timestamp.from(Instant.now()));
            VpcStore.putTags(c, account, acl, tags);
            return acl;
        });
        Acl acl = acls(account).stream().filter(a -> a.id().equals(id)).findFirst().orElseThrow();
        Xml x = new Xml().openRoot("CreateNetworkAclResponse").element("requestId", requestId).open("networkAcl");
        render(x, acl);
        return x.close("networkAcl").close("CreateNetworkAclResponse").toString();
    }

    private static final Set<String> FILTERS = Set.of("network-acl-id", "vpc-id", "default", "association.subnet-id",
            "association.association-id", "association.network-acl-id", "owner-id");

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("NetworkAclId");
        Filters filters = Filters.parse(p, FILTERS);
        List<Acl> all = acls(account);
        for (String id : ids) {
            if (all.stream().noneMatch(a -> a.id().equals(id))) {
                throw Ec2Error.client("InvalidNetworkAclID.NotFound", "The network ACL ID '" + id + "' does not exist");
            }
        }
        Xml x = new Xml().openRoot("DescribeNetworkAclsResponse").element("requestId", requestId).open("networkAclSet");
        for (Acl acl : all) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "network-acl-id", "association.network-acl-id" -> List.of(acl.id());
                case "vpc-id" -> List.of(acl.vpcId());
                case "default" -> List.of(String.valueOf(acl.isDefault()));
                case "association.subnet-id" -> List.copyOf(acl.associations().values());
                case "association.association-id" -> List.copyOf(acl.associations().keySet());
                case "owner-id" -> List.of(acl.accountId());
                default -> List.of();
            };
            if ((ids.isEmpty() || ids.contains(acl.id())) && filters.matches(attributes, acl.tags())) {
                x.open("item");
                render(x, acl);
                x.close("item");
            }
        }
        return x.close("networkAclSet").close("DescribeNetworkAclsResponse").toString();
    }

    private static void render(Xml x, Acl acl) {
        x.element("networkAclId", acl.id()).element("vpcId", acl.vpcId()).element("default", acl.isDefault())
                .element("ownerId", acl.accountId()).open("entrySet");
        List<Entry> shown = new ArrayList<>(acl.entries());
        shown.add(new Entry(true, IMPLICIT_DENY_RULE, "-1", "deny", "0.0.0.0/0", null, null, null, null));
        shown.add(new Entry(false, IMPLICIT_DENY_RULE, "-1", "deny", "0.0.0.0/0", null, null, null, null));
        for (Entry e : shown) {
            x.open("item").element("ruleNumber", e.ruleNumber()).element("protocol", e.protocol()).element("ruleAction", e.action())
                    .element("egress", e.egress()).element("cidrBlock", e.cidr());
            if (e.from() != null) {
                x.open("portRange").element("from", e.from()).element("to", e.to()).close("portRange");
            }
            if (e.icmpType() != null) {
                x.open("icmpTypeCode").element("type", e.icmpType()).element("code", e.icmpCode()).close("icmpTypeCode");
            }
            x.close("item");
        }
        x.close("entrySet").open("associationSet");
        acl.associations().forEach((association, subnet) -> x.open("item").element("networkAclAssociationId", association)
                .element("networkAclId", acl.id()).element("subnetId", subnet).close("item"));
        x.close("associationSet");
        Ec2Api.tagSet(x, acl.tags());
    }

    String delete(String account, QueryParams p, String requestId) {
        String id = p.required("NetworkAclId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            boolean isDefault = requireAcl(c, account, id)[1].equals("true");
            if (isDefault) {
                throw Ec2Error.client("InvalidParameterValue", "cannot delete default network ACL " + id);
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM network_acl_associations WHERE acl_id = ?", id) > 0) {
                throw Ec2Error.client("DependencyViolation", "The networkAcl '" + id + "' has dependencies and cannot be deleted.");
            }
            Sql.update(c, "DELETE FROM network_acl_entries WHERE acl_id = ?", id);
            Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", id);
            Sql.update(c, "DELETE FROM network_acls WHERE id = ?", id);
            return null;
        });
        return Ec2Api.returnTrue("DeleteNetworkAclResponse", requestId);
    }

    /** CreateNetworkAclEntry (the rule must be new) or ReplaceNetworkAclEntry (it must exist). */
    String putEntry(String account, QueryParams p, String requestId, boolean replace) {
        String id = p.required("NetworkAclId");
        Entry entry = entry(p);
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireAcl(c, account, id);
            boolean exists = Sql.count(c, "SELECT COUNT(*) FROM network_acl_entries WHERE acl_id = ? AND egress = ? AND rule_number = ?",
                    id, entry.egress(), entry.ruleNumber()) > 0;
            if (!replace && exists) {
                throw Ec2Error.client("NetworkAclEntryAlreadyExists", "The network acl entry identified by " + entry.ruleNumber() + " already exists.");
            }
            if (replace && !exists) {
                throw Ec2Error.client("InvalidNetworkAclEntry.NotFound", "The network acl entry identified by " + entry.ruleNumber() + " does not exist.");
            }
            Sql.update(c, "DELETE FROM network_acl_entries WHERE acl_id = ? AND egress = ? AND rule_number = ?", id, entry.egress(), entry.ruleNumber());
            Sql.update(c, "INSERT INTO network_acl_entries (acl_id, egress, rule_number, protocol, rule_action, cidr, from_port, to_port, icmp_type, icmp_code)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", id, entry.egress(), entry.ruleNumber(), entry.protocol(), entry.action(),
                    entry.cidr(), entry.from(), entry.to(), entry.icmpType(), entry.icmpCode());
            return null;
        });
        return Ec2Api.returnTrue((replace ? "Replace" : "Create") + "NetworkAclEntryResponse", requestId);
    }

    String deleteEntry(String account, QueryParams p, String requestId) {
        String id = p.required("NetworkAclId");
        int rule = ruleNumber(p.required("RuleNumber"));
        boolean egress = Boolean.parseBoolean(p.required("Egress"));
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireAcl(c, account, id);
            if (Sql.update(c, "DELETE FROM network_acl_entries WHERE acl_id = ? AND egress = ? AND rule_number = ?", id, egress, rule) == 0) {
                throw Ec2Error.client("InvalidNetworkAclEntry.NotFound", "The network acl entry identified by " + rule + " does not exist.");
            }
            return null;
        });
        return Ec2Api.returnTrue("DeleteNetworkAclEntryResponse", requestId);
    }

    /** Moves a subnet's association to another ACL of the same VPC; the old association id is replaced. */
    String replaceAssociation(String account, QueryParams p, String requestId) {
        String associationId = p.required("AssociationId");
        String aclId = p.required("NetworkAclId");
        String newId = db.inTransaction(c -> {
            Accounts.lock(c, account);
            String vpc = requireAcl(c, account, aclId)[0];
            List<String> subnet = Sql.strings(c, "SELECT a.subnet_id FROM network_acl_associations a JOIN network_acls n ON n.id = a.acl_id"
                    + " WHERE a.id = ? AND n.account_id = ?", associationId, account);
            if (subnet.isEmpty()) {
                throw Ec2Error.client("InvalidAssociationID.NotFound", "The association ID '" + associationId + "' does not exist");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM subnets WHERE id = ? AND vpc_id = ?", subnet.getFirst(), vpc) == 0) {
                throw Ec2Error.client("InvalidParameterValue", "Network ACL " + aclId + " and subnet " + subnet.getFirst() + " belong to different VPCs");
            }
            String replacement = Ids.next("aclassoc");
            Sql.update(c, "DELETE FROM network_acl_associations WHERE id = ?", associationId);
            Sql.update(c, "INSERT INTO network_acl_associations (id, acl_id, subnet_id) VALUES (?, ?, ?)", replacement, aclId, subnet.getFirst());
            return replacement;
        });
        return new Xml().openRoot("ReplaceNetworkAclAssociationResponse").element("requestId", requestId)
                .element("newAssociationId", newId).close("ReplaceNetworkAclAssociationResponse").toString();
    }

    private static Entry entry(QueryParams p) {
        int rule = ruleNumber(p.required("RuleNumber"));
        String protocol = SecurityGroupActions.protocol(p.required("Protocol"));
        String action = p.required("RuleAction").toLowerCase(Locale.ROOT);
        if (!action.equals("allow") && !action.equals("deny")) {
            throw Ec2Error.invalidValue("RuleAction", action, "It must be allow or deny.");
        }
        boolean egress = Boolean.parseBoolean(p.required("Egress"));
        String cidrText = p.required("CidrBlock");
        String cidr;
        try {
            cidr = Ipv4Cidr.parse(cidrText).toString();
        } catch (IllegalArgumentException e) {
            throw Ec2Error.invalidValue("cidrBlock", cidrText, "This is not a valid CIDR block.");
        }
        Integer from = null;
        Integer to = null;
        Integer type = null;
        Integer code = null;
        if (protocol.equals("tcp") || protocol.equals("udp")) {
            if (p.get("PortRange.From") == null || p.get("PortRange.To") == null) {
                throw Ec2Error.missing("PortRange");
            }
            from = SecurityGroupActions.number(p.get("PortRange.From"), "PortRange.From");
            to = SecurityGroupActions.number(p.get("PortRange.To"), "PortRange.To");
            if (from < 0 || to > 65535 || from > to) {
                throw Ec2Error.client("InvalidParameterValue", "Invalid port range " + from + "-" + to);
            }
        } else if (protocol.equals("icmp")) {
            type = p.get("Icmp.Type") == null ? -1 : SecurityGroupActions.number(p.get("Icmp.Type"), "Icmp.Type");
            code = p.get("Icmp.Code") == null ? -1 : SecurityGroupActions.number(p.get("Icmp.Code"), "Icmp.Code");
        }
        return new Entry(egress, rule, protocol.equals("tcp") ? "6" : protocol.equals("udp") ? "17" : protocol.equals("icmp") ? "1" : protocol,
                action, cidr, from, to, type, code);
    }

    private static int ruleNumber(String text) {
        try {
            int n = Integer.parseInt(text);
            if (n >= 1 && n <= MAX_RULE) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through to the error
        }
        throw Ec2Error.invalidValue("ruleNumber", text, "Rule numbers are 1 to " + MAX_RULE + ".");
    }

    /** {vpcId, isDefault} of an ACL of this account. */
    private static String[] requireAcl(Connection c, String account, String id) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT vpc_id, is_default FROM network_acls WHERE id = ? AND account_id = ?", id, account);
             ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                throw Ec2Error.client("InvalidNetworkAclID.NotFound", "The network ACL ID '" + id + "' does not exist");
            }
            return new String[] {r.getString(1), String.valueOf(r.getBoolean(2))};
        }
    }

    List<Acl> acls(String account) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
            Map<String, List<Entry>> entries = new LinkedHashMap<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT e.acl_id, e.egress, e.rule_number, e.protocol, e.rule_action, e.cidr, e.from_port, e.to_port,"
                    + " e.icmp_type, e.icmp_code FROM network_acl_entries e JOIN network_acls a ON a.id = e.acl_id WHERE a.account_id = ?"
                    + " ORDER BY e.egress DESC, e.rule_number", account); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    entries.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(new Entry(r.getBoolean(2), r.getInt(3), r.getString(4),
                            r.getString(5), r.getString(6), (Integer) r.getObject(7), (Integer) r.getObject(8), (Integer) r.getObject(9),
                            (Integer) r.getObject(10)));
                }
            }
            Map<String, Map<String, String>> associations = new LinkedHashMap<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT a.acl_id, a.id, a.subnet_id FROM network_acl_associations a JOIN network_acls n"
                    + " ON n.id = a.acl_id WHERE n.account_id = ? ORDER BY a.id", account); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    associations.computeIfAbsent(r.getString(1), k -> new LinkedHashMap<>()).put(r.getString(2), r.getString(3));
                }
            }
            List<Acl> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, is_default FROM network_acls WHERE account_id = ? ORDER BY created_at, id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String id = r.getString(1);
                    out.add(new Acl(id, account, r.getString(2), r.getBoolean(3), entries.getOrDefault(id, List.of()),
                            associations.getOrDefault(id, Map.of()), tags.getOrDefault(id, Map.of())));
                }
            }
            return out;
        });
    }
}
