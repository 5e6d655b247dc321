package io.hyperplane.control.nodes;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads what every forwarder node needs out of the store, across accounts: each Hyperplane ENI
 * with its security groups (egress rules, and the current members of any group a rule names:
 * instances and ENIs), its subnet's network ACL and route table, and the execution environments
 * tunnelled to it. Only what the ENIs reach is included, so a node's snapshot grows with the ENIs,
 * not with the whole store.
 */
public final class NodeConfigBuilder {
    private NodeConfigBuilder() {
    }

    /** The snapshot as of now, with version 0 (the publisher numbers it when the content changed). */
    public static NodeSnapshot build(Connection c) throws SQLException {
        List<NodeSnapshot.Eni> enis = new ArrayList<>();
        Set<String> subnetIds = new LinkedHashSet<>();
        Deque<String> groupsToAdd = new ArrayDeque<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, private_ip, mac, subnet_id FROM network_interfaces ORDER BY id");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                List<String> groups = Sql.strings(c, "SELECT group_id FROM network_interface_groups WHERE eni_id = ? ORDER BY group_id", r.getString(1));
                enis.add(new NodeSnapshot.Eni(r.getString(1), r.getString(2), r.getString(3), r.getString(4), groups));
                subnetIds.add(r.getString(4));
                groupsToAdd.addAll(groups);
            }
        }
        Map<String, NodeSnapshot.SecurityGroup> groups = new LinkedHashMap<>();
        while (!groupsToAdd.isEmpty()) {
            String id = groupsToAdd.poll();
            if (groups.containsKey(id)) {
                continue;
            }
            List<NodeSnapshot.SecurityGroupRule> egress = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT protocol, from_port, to_port, cidr, referenced_group_id FROM security_group_rules"
                    + " WHERE group_id = ? AND egress ORDER BY id", id); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    egress.add(new NodeSnapshot.SecurityGroupRule(r.getString(1), r.getInt(2), r.getInt(3), r.getString(4), r.getString(5)));
                    if (r.getString(5) != null) {
                        groupsToAdd.add(r.getString(5));
                    }
                }
            }
            List<String> members = new ArrayList<>(Sql.strings(c, "SELECT i.private_ip FROM instance_security_groups m JOIN instances i ON i.id = m.instance_id"
                    + " WHERE m.group_id = ? AND i.state IN ('pending', 'running') AND i.private_ip IS NOT NULL ORDER BY i.private_ip", id));
            members.addAll(Sql.strings(c, "SELECT e.private_ip FROM network_interface_groups g JOIN network_interfaces e ON e.id = g.eni_id"
                    + " WHERE g.group_id = ? ORDER BY e.private_ip", id));
            groups.put(id, new NodeSnapshot.SecurityGroup(id, egress, members));
        }
        List<NodeSnapshot.Subnet> subnets = new ArrayList<>();
        Set<String> vpcIds = new LinkedHashSet<>();
        Set<String> aclIds = new LinkedHashSet<>();
        Set<String> tableIds = new LinkedHashSet<>();
        for (String subnetId : subnetIds) {
            try (PreparedStatement s = Sql.prepare(c, "SELECT s.vpc_id, s.cidr, s.vni, v.vtep_ip, a.acl_id FROM subnets s JOIN vpcs v ON v.id = s.vpc_id"
                    + " JOIN network_acl_associations a ON a.subnet_id = s.id WHERE s.id = ?", subnetId); ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    continue;
                }
                String table = routeTable(c, subnetId, r.getString(1));
                subnets.add(new NodeSnapshot.Subnet(subnetId, r.getString(1), r.getString(2), r.getInt(3), r.getString(4), r.getString(5), table));
                vpcIds.add(r.getString(1));
                aclIds.add(r.getString(5));
                tableIds.add(table);
            }
        }
        List<NodeSnapshot.Vpc> vpcs = new ArrayList<>();
        for (String vpcId : vpcIds) {
            vpcs.add(new NodeSnapshot.Vpc(vpcId, Sql.strings(c, "SELECT cidr FROM vpcs WHERE id = ?", vpcId).getFirst()));
        }
        List<NodeSnapshot.NetworkAcl> acls = new ArrayList<>();
        for (String aclId : aclIds) {
            List<NodeSnapshot.NetworkAclEntry> entries = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT rule_number, egress, protocol, rule_action, cidr, from_port, to_port, icmp_type, icmp_code"
                    + " FROM network_acl_entries WHERE acl_id = ? ORDER BY egress, rule_number", aclId); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    entries.add(new NodeSnapshot.NetworkAclEntry(r.getInt(1), r.getBoolean(2), r.getString(3), r.getString(4), r.getString(5),
                            intOr(r, 6, 0), intOr(r, 7, 65535), intOr(r, 8, -1), intOr(r, 9, -1)));
                }
            }
            acls.add(new NodeSnapshot.NetworkAcl(aclId, entries));
        }
        List<NodeSnapshot.RouteTable> tables = new ArrayList<>();
        for (String tableId : tableIds) {
            List<NodeSnapshot.Route> routes = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT destination, target FROM routes WHERE route_table_id = ? ORDER BY destination", tableId);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    routes.add(new NodeSnapshot.Route(r.getString(1), r.getString(2)));
                }
            }
            tables.add(new NodeSnapshot.RouteTable(tableId, routes));
        }
        return new NodeSnapshot(0, NodeSnapshot.Gateway.DEFAULT, vpcs, subnets, new ArrayList<>(groups.values()), acls, tables, enis,
                environments(c));
    }

    /** The execution environments bound to an ENI (what changes at every cold start). */
    public static List<NodeSnapshot.ExecutionEnvironment> environments(Connection c) throws SQLException {
        List<NodeSnapshot.ExecutionEnvironment> ees = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vni, host_ip, ip, mac, eni_id FROM execution_environments WHERE eni_id IS NOT NULL ORDER BY vni");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                ees.add(new NodeSnapshot.ExecutionEnvironment(r.getString(1), r.getInt(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6)));
            }
        }
        return ees;
    }

    /** The subnet's explicitly associated route table, else its VPC's main one. */
    static String routeTable(Connection c, String subnetId, String vpcId) throws SQLException {
        List<String> explicit = Sql.strings(c, "SELECT route_table_id FROM route_table_associations WHERE subnet_id = ?", subnetId);
        if (!explicit.isEmpty()) {
            return explicit.getFirst();
        }
        return Sql.strings(c, "SELECT a.route_table_id FROM route_table_associations a JOIN route_tables t ON t.id = a.route_table_id"
                + " WHERE a.is_main AND t.vpc_id = ?", vpcId).getFirst();
    }

    private static int intOr(ResultSet r, int column, int otherwise) throws SQLException {
        Object value = r.getObject(column);
        return value == null ? otherwise : ((Number) value).intValue();
    }
}
