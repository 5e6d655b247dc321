package io.hyperplane.control.nodes;

import io.hyperplane.config.NetworkAdmission;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.control.store.Sql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads what every forwarder node needs out of the store, across accounts: each Hyperplane ENI
 * with its security groups (egress rules, and the current members of any group a rule names:
 * instances and ENIs), its subnet's network ACL and route table, and the execution environments
 * tunnelled to it. Only what the ENIs reach is included, so a node's snapshot grows with the ENIs,
 * not with the whole store.
 * <p>
 * One tenant's resources can never invalidate what is published for the others (DESIGN.md §9):
 * the snapshot is assembled ENI by ENI, oldest first, and an ENI whose resources the data plane
 * cannot take (a rule {@link NetworkAdmission} refuses, a value a snapshot record refuses) is left
 * out with the reason, which the reconciler puts on the functions waiting for it. Everything else
 * is published.
 */
public final class NodeConfigBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(NodeConfigBuilder.class);

    private NodeConfigBuilder() {
    }

    /** A snapshot and the ENIs and NAT gateways left out of it, by id, with why. */
    public record Build(NodeSnapshot snapshot, Map<String, String> rejectedEnis, Map<String, String> rejectedNatGateways) {
        public Build(NodeSnapshot snapshot, Map<String, String> rejectedEnis) {
            this(snapshot, rejectedEnis, Map.of());
        }
    }

    /** The snapshot as of now, with version 0 (the publisher numbers it when the content changed). */
    public static Build build(Connection c) throws SQLException {
        Reader reader = new Reader(c);
        NetworkAdmission admission = new NetworkAdmission();
        List<NodeSnapshot.Eni> enis = new ArrayList<>();
        Set<String> subnetIds = new LinkedHashSet<>();
        Set<String> groupIds = new LinkedHashSet<>();
        Map<String, String> rejected = new TreeMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, private_ip, mac, subnet_id FROM network_interfaces ORDER BY created_at, id");
             ResultSet r = s.executeQuery()) {
            List<String[]> rows = new ArrayList<>();
            while (r.next()) {
                rows.add(new String[] {r.getString(1), r.getString(2), r.getString(3), r.getString(4)});
            }
            Map<String, List<String>> groupsOf = new HashMap<>();
            try (PreparedStatement g = Sql.prepare(c, "SELECT eni_id, group_id FROM network_interface_groups ORDER BY eni_id, group_id");
                 ResultSet m = g.executeQuery()) {
                while (m.next()) {
                    groupsOf.computeIfAbsent(m.getString(1), k -> new ArrayList<>()).add(m.getString(2));
                }
            }
            for (String[] row : rows) {
                try {
                    List<String> groups = groupsOf.getOrDefault(row[0], List.of());
                    NodeSnapshot.Eni eni = new NodeSnapshot.Eni(row[0], row[1], row[2], row[3], groups);
                    NodeSnapshot.Subnet subnet = reader.subnet(row[3]);
                    Set<String> reached = reader.groupsReached(groups);
                    admission.admitSubnet(reader.vpcs.get(subnet.vpcId()), subnet);
                    admission.admitEni(subnet, eni);
                    enis.add(eni);
                    subnetIds.add(subnet.id());
                    groupIds.addAll(reached);
                } catch (IllegalArgumentException e) {
                    rejected.put(row[0], e.getMessage());
                } catch (RuntimeException e) { // a store state no rule foresaw: still this ENI's failure alone
                    LOG.warn("ENI {}: {}", row[0], e.toString());
                    rejected.put(row[0], "its resources could not be read: " + e);
                }
            }
        }
        Map<String, String> rejectedNatGateways = new TreeMap<>();
        List<NodeSnapshot.NatGateway> natGateways = natGateways(c, reader, admission, subnetIds, rejectedNatGateways);
        List<NodeSnapshot.Subnet> subnets = subnetIds.stream().map(reader.subnets::get).toList();
        Set<String> accepted = new HashSet<>(enis.stream().map(NodeSnapshot.Eni::id).toList());
        List<NodeSnapshot.ExecutionEnvironment> ees = new ArrayList<>();
        List<NodeSnapshot.ExecutionEnvironment> egress = new ArrayList<>();
        for (NodeSnapshot.ExecutionEnvironment ee : environments(c)) {
            if (accepted.contains(ee.eniId()) || ServiceEgress.isEgress(ee.eniId())) {
                try {
                    admission.admitEnvironment(ee);
                    (ServiceEgress.isEgress(ee.eniId()) ? egress : ees).add(ee);
                } catch (IllegalArgumentException e) {
                    LOG.warn("execution environment {} left out of the node config: {}", ee.id(), e.getMessage());
                }
            }
        }
        NodeSnapshot snapshot = new NodeSnapshot(0, NodeSnapshot.Gateway.DEFAULT,
                subnets.stream().map(NodeSnapshot.Subnet::vpcId).distinct().map(reader.vpcs::get).toList(), subnets,
                groupIds.stream().map(reader.groups::get).toList(),
                subnets.stream().map(NodeSnapshot.Subnet::networkAclId).distinct().map(reader.acls::get).toList(),
                subnets.stream().map(NodeSnapshot.Subnet::routeTableId).distinct().map(reader.tables::get).toList(),
                enis, ees, natGateways);
        return new Build(ServiceEgress.addTo(snapshot, egress), rejected, rejectedNatGateways);
    }

    /**
     * The NAT gateways the nodes carry (pending and available ones), oldest first, each with its
     * subnet (and so its VPC, network ACL and route table: route targets "local", "blackhole",
     * "igw-…", "nat-…" as stored). A gateway whose resources the snapshot refuses is left out with
     * why, alone; its lifecycle fails it (InternalError).
     */
    private static List<NodeSnapshot.NatGateway> natGateways(Connection c, Reader reader, NetworkAdmission admission, Set<String> subnetIds,
                                                             Map<String, String> rejected) throws SQLException {
        List<NodeSnapshot.NatGateway> out = new ArrayList<>();
        List<String[]> rows = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, private_ip, mac, subnet_id FROM nat_gateways WHERE state IN ('pending', 'available')"
                + " AND mac IS NOT NULL ORDER BY created_at, id"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                rows.add(new String[] {r.getString(1), r.getString(2), r.getString(3), r.getString(4)});
            }
        }
        for (String[] row : rows) {
            try {
                NodeSnapshot.NatGateway nat = new NodeSnapshot.NatGateway(row[0], row[1], row[2], row[3]);
                NodeSnapshot.Subnet subnet = reader.subnet(row[3]);
                admission.admitSubnet(reader.vpcs.get(subnet.vpcId()), subnet);
                // Admitted as the snapshot admits it: an address and a MAC in its subnet, like an ENI's.
                admission.admitEni(subnet, new NodeSnapshot.Eni(nat.id(), nat.ip(), nat.mac(), nat.subnetId(), List.of()));
                out.add(nat);
                subnetIds.add(subnet.id());
            } catch (IllegalArgumentException e) {
                rejected.put(row[0], e.getMessage());
            } catch (RuntimeException e) { // a store state no rule foresaw: still this gateway's failure alone
                LOG.warn("NAT gateway {}: {}", row[0], e.toString());
                rejected.put(row[0], "its resources could not be read: " + e);
            }
        }
        return out;
    }

    /**
     * Reads each resource once and remembers it, or why it cannot be a snapshot's: a resource
     * that fails fails every ENI that needs it, with the same reason.
     */
    private static final class Reader {
        private final Connection c;
        final Map<String, NodeSnapshot.Vpc> vpcs = new HashMap<>();
        final Map<String, NodeSnapshot.Subnet> subnets = new HashMap<>();
        final Map<String, NodeSnapshot.SecurityGroup> groups = new HashMap<>();
        final Map<String, NodeSnapshot.NetworkAcl> acls = new HashMap<>();
        final Map<String, NodeSnapshot.RouteTable> tables = new HashMap<>();
        private final Map<String, String> failed = new HashMap<>();

        Reader(Connection c) {
            this.c = c;
        }

        NodeSnapshot.Subnet subnet(String id) throws SQLException {
            NodeSnapshot.Subnet known = subnets.get(id);
            if (known != null) {
                return known;
            }
            failedBefore(id);
            try (PreparedStatement s = Sql.prepare(c, "SELECT s.vpc_id, s.cidr, s.vni, v.vtep_ip, a.acl_id, v.cidr FROM subnets s JOIN vpcs v ON v.id = s.vpc_id"
                    + " JOIN network_acl_associations a ON a.subnet_id = s.id WHERE s.id = ?", id); ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw remember(id, new IllegalArgumentException("subnet " + id + ": not in the store (or its VPC or network ACL association is not)"));
                }
                String vpcId = r.getString(1);
                String table = routeTable(c, id, vpcId);
                NodeSnapshot.Subnet subnet = new NodeSnapshot.Subnet(id, vpcId, r.getString(2), r.getInt(3), r.getString(4), r.getString(5), table);
                if (!vpcs.containsKey(vpcId)) {
                    vpcs.put(vpcId, new NodeSnapshot.Vpc(vpcId, r.getString(6)));
                }
                acl(subnet.networkAclId());
                routes(table);
                subnets.put(id, subnet);
                return subnet;
            } catch (IllegalArgumentException e) {
                throw remember(id, e);
            }
        }

        /** The groups and every group their rules name, transitively; their ids. */
        Set<String> groupsReached(List<String> start) throws SQLException {
            Set<String> reached = new LinkedHashSet<>();
            Deque<String> toVisit = new ArrayDeque<>(start);
            while (!toVisit.isEmpty()) {
                String id = toVisit.poll();
                if (!reached.add(id)) {
                    continue;
                }
                for (NodeSnapshot.SecurityGroupRule rule : group(id).egress()) {
                    if (rule.groupId() != null) {
                        toVisit.add(rule.groupId());
                    }
                }
            }
            return reached;
        }

        private NodeSnapshot.SecurityGroup group(String id) throws SQLException {
            NodeSnapshot.SecurityGroup known = groups.get(id);
            if (known != null) {
                return known;
            }
            failedBefore(id);
            try {
                List<NodeSnapshot.SecurityGroupRule> egress = new ArrayList<>();
                try (PreparedStatement s = Sql.prepare(c, "SELECT protocol, from_port, to_port, cidr, referenced_group_id FROM security_group_rules"
                        + " WHERE group_id = ? AND egress ORDER BY id", id); ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        egress.add(new NodeSnapshot.SecurityGroupRule(r.getString(1), r.getInt(2), r.getInt(3), r.getString(4), r.getString(5)));
                    }
                }
                List<String> members = new ArrayList<>(Sql.strings(c, "SELECT i.private_ip FROM instance_security_groups m JOIN instances i ON i.id = m.instance_id"
                        + " WHERE m.group_id = ? AND i.state IN ('pending', 'running') AND i.private_ip IS NOT NULL ORDER BY i.private_ip", id));
                members.addAll(Sql.strings(c, "SELECT e.private_ip FROM network_interface_groups g JOIN network_interfaces e ON e.id = g.eni_id"
                        + " WHERE g.group_id = ? ORDER BY e.private_ip", id));
                NodeSnapshot.SecurityGroup group = new NodeSnapshot.SecurityGroup(id, egress, members);
                groups.put(id, group);
                return group;
            } catch (IllegalArgumentException e) {
                throw remember(id, e);
            }
        }

        private void acl(String id) throws SQLException {
            if (acls.containsKey(id)) {
                return;
            }
            failedBefore(id);
            try {
                List<NodeSnapshot.NetworkAclEntry> entries = new ArrayList<>();
                try (PreparedStatement s = Sql.prepare(c, "SELECT rule_number, egress, protocol, rule_action, cidr, from_port, to_port, icmp_type, icmp_code"
                        + " FROM network_acl_entries WHERE acl_id = ? ORDER BY egress, rule_number", id); ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        entries.add(new NodeSnapshot.NetworkAclEntry(r.getInt(1), r.getBoolean(2), r.getString(3), r.getString(4), r.getString(5),
                                intOr(r, 6, 0), intOr(r, 7, 65535), intOr(r, 8, -1), intOr(r, 9, -1)));
                    }
                }
                acls.put(id, new NodeSnapshot.NetworkAcl(id, entries));
            } catch (IllegalArgumentException e) {
                throw remember(id, e);
            }
        }

        private void routes(String id) throws SQLException {
            if (tables.containsKey(id)) {
                return;
            }
            failedBefore(id);
            try {
                List<NodeSnapshot.Route> routes = new ArrayList<>();
                try (PreparedStatement s = Sql.prepare(c, "SELECT destination, target FROM routes WHERE route_table_id = ? ORDER BY destination", id);
                     ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        routes.add(new NodeSnapshot.Route(r.getString(1), r.getString(2)));
                    }
                }
                tables.put(id, new NodeSnapshot.RouteTable(id, routes));
            } catch (IllegalArgumentException e) {
                throw remember(id, e);
            }
        }

        private void failedBefore(String id) {
            String reason = failed.get(id);
            if (reason != null) {
                throw new IllegalArgumentException(reason);
            }
        }

        private IllegalArgumentException remember(String id, IllegalArgumentException e) {
            failed.put(id, e.getMessage());
            return e;
        }
    }

    /** The execution environments bound to an ENI, the service egress's included (what changes at every cold start). */
    public static List<NodeSnapshot.ExecutionEnvironment> environments(Connection c) throws SQLException {
        List<NodeSnapshot.ExecutionEnvironment> ees = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vni, host_ip, ip, mac, eni_id, service_egress FROM execution_environments"
                + " WHERE eni_id IS NOT NULL OR service_egress ORDER BY vni");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                String eni = r.getBoolean(7) ? Internet.SERVICE_EGRESS_ENI_ID : r.getString(6);
                ees.add(new NodeSnapshot.ExecutionEnvironment(r.getString(1), r.getInt(2), r.getString(3), r.getString(4), r.getString(5), eni));
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
        List<String> main = Sql.strings(c, "SELECT a.route_table_id FROM route_table_associations a JOIN route_tables t ON t.id = a.route_table_id"
                + " WHERE a.is_main AND t.vpc_id = ?", vpcId);
        if (main.isEmpty()) {
            throw new IllegalArgumentException("subnet " + subnetId + ": vpc " + vpcId + " has no main route table");
        }
        return main.getFirst();
    }

    private static int intOr(ResultSet r, int column, int otherwise) throws SQLException {
        Object value = r.getObject(column);
        return value == null ? otherwise : ((Number) value).intValue();
    }
}
