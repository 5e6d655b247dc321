package io.hyperplane.control.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the desired networks out of the store, across all accounts: VPCs, subnets with their
 * associated ACL's rules and their route table's routes, and instances that are pending or running
 * with their security groups' rules. A rule naming a group becomes the current members' addresses
 * (instances and Hyperplane ENIs), so a membership change (an instance launched or terminated, an
 * ENI created or deleted) changes the rules the fabric enforces. Each VPC carries its DNS
 * attributes, its attached internet gateway and, with one, the public addresses it maps.
 */
public final class FabricStateBuilder {
    private FabricStateBuilder() {
    }

    /**
     * The desired state with {@code fleet} as its plan; null: the registered nodes, all in service
     * (what a control plane that has not heard from them yet believes: they were serving).
     */
    public static FabricState build(Database db, FleetPlan fleet) {
        return db.inTransaction(c -> build(c, fleet));
    }

    private static FabricState build(Connection c, FleetPlan fleet) throws SQLException {
        Map<String, List<String>> members = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT m.group_id, i.private_ip FROM instance_security_groups m JOIN instances i"
                + " ON i.id = m.instance_id WHERE i.state IN ('pending', 'running') AND i.private_ip IS NOT NULL"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                members.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(r.getString(2) + "/32");
            }
        }
        // Hyperplane ENIs are members of their groups too: an instance admitting a function's group
        // admits the function's ENI address (the source every EE's flows are translated to).
        try (PreparedStatement s = Sql.prepare(c, "SELECT g.group_id, e.private_ip FROM network_interface_groups g JOIN network_interfaces e"
                + " ON e.id = g.eni_id"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                members.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(r.getString(2) + "/32");
            }
        }
        Map<String, List<FabricState.Permission>> ingress = new LinkedHashMap<>();
        Map<String, List<FabricState.Permission>> egress = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT group_id, egress, protocol, from_port, to_port, cidr, referenced_group_id"
                + " FROM security_group_rules ORDER BY id"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                List<String> peers = r.getString(6) != null ? List.of(r.getString(6)) : members.getOrDefault(r.getString(7), List.of());
                FabricState.Permission p = new FabricState.Permission(r.getString(3), r.getInt(4), r.getInt(5), peers);
                (r.getBoolean(2) ? egress : ingress).computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(p);
            }
        }
        Map<String, List<FabricState.AclRule>[]> acls = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT a.subnet_id, e.egress, e.rule_number, e.protocol, e.rule_action, e.cidr, e.from_port, e.to_port"
                + " FROM network_acl_associations a JOIN network_acl_entries e ON e.acl_id = a.acl_id ORDER BY e.rule_number"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                @SuppressWarnings("unchecked")
                List<FabricState.AclRule>[] both = acls.computeIfAbsent(r.getString(1), k -> new List[] {new ArrayList<>(), new ArrayList<>()});
                Integer from = (Integer) r.getObject(7);
                Integer to = (Integer) r.getObject(8);
                both[r.getBoolean(2) ? 1 : 0].add(new FabricState.AclRule(r.getInt(3), r.getString(4), r.getString(5).equals("allow"),
                        r.getString(6), from == null ? -1 : from, to == null ? -1 : to));
            }
        }
        WayOut.Routes routes = WayOut.routes(c);
        Map<String, List<FabricState.SubnetNetwork>> subnets = new LinkedHashMap<>();
        Map<String, FabricState.SubnetNetwork> subnetById = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, cidr, vni FROM subnets ORDER BY vni"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                Ipv4Cidr cidr = Ipv4Cidr.parse(r.getString(3));
                @SuppressWarnings("unchecked")
                List<FabricState.AclRule>[] both = acls.getOrDefault(r.getString(1), new List[] {List.of(), List.of()});
                FabricState.SubnetNetwork subnet = new FabricState.SubnetNetwork(r.getString(1), cidr.toString(), r.getInt(4),
                        Ipv4Address.format(cidr.network() + 1), both[0], both[1], routes.routesOf(r.getString(1), r.getString(2)));
                subnets.computeIfAbsent(r.getString(2), k -> new ArrayList<>()).add(subnet);
                subnetById.put(subnet.id(), subnet);
            }
        }
        Map<String, List<FabricState.InstanceHost>> instances = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, subnet_id, private_ip, user_data FROM instances"
                + " WHERE state IN ('pending', 'running') ORDER BY launched_at, id"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                String id = r.getString(1);
                FabricState.SubnetNetwork subnet = subnetById.get(r.getString(3));
                List<FabricState.Permission> in = new ArrayList<>();
                List<FabricState.Permission> out = new ArrayList<>();
                for (String group : Sql.strings(c, "SELECT group_id FROM instance_security_groups WHERE instance_id = ?", id)) {
                    in.addAll(ingress.getOrDefault(group, List.of()));
                    out.addAll(egress.getOrDefault(group, List.of()));
                }
                instances.computeIfAbsent(r.getString(2), k -> new ArrayList<>()).add(new FabricState.InstanceHost(id, subnet.id(),
                        r.getString(4), Ipv4Cidr.parse(subnet.cidr()).prefixLength(), subnet.gatewayIp(), r.getString(5), in, out));
            }
        }
        Map<String, List<FabricState.PublicAddress>> publicAddresses = WayOut.publicAddresses(c);
        List<FabricState.VpcNetwork> vpcs = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT v.id, v.cidr, v.vtep_ip, v.enable_dns_support, v.enable_dns_hostnames,"
                + " (SELECT g.id FROM internet_gateways g WHERE g.vpc_id = v.id) FROM vpcs v ORDER BY v.created_at, v.id"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                String gateway = r.getString(6);
                vpcs.add(new FabricState.VpcNetwork(r.getString(1), r.getString(2), r.getString(3),
                        subnets.getOrDefault(r.getString(1), List.of()), instances.getOrDefault(r.getString(1), List.of()),
                        new FabricState.Dns(r.getBoolean(4), r.getBoolean(5), WayOut.PRIVATE_DOMAIN), gateway,
                        gateway == null ? List.of() : publicAddresses.getOrDefault(r.getString(1), List.of())));
            }
        }
        List<FleetPlan.Candidate> registered = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT fleet_index, name, underlay_ip FROM forwarder_nodes"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                registered.add(new FleetPlan.Candidate(r.getInt(1), r.getString(2), r.getString(3), true));
            }
        }
        FleetPlan plan = fleet == null ? FleetPlan.of(0, registered) : fleet;
        return new FabricState(vpcs, Sql.strings(c, "SELECT underlay_ip FROM forwarder_nodes ORDER BY underlay_ip"), plan);
    }
}
