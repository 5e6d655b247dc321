package io.hyperplane.lab.spec;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.Protocols;
import io.hyperplane.config.fabric.ServiceEgressNetwork;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a lab into the config snapshot its forwarder nodes read: what the control plane would
 * push. Every node gets the whole lab (every node serves every ENI, as in DESIGN.md §4), and, when
 * the lab has the internet, the service egress ({@link ServiceEgressNetwork}) its environments
 * bound to {@code eni-hyperplane-egress} leave by.
 */
public final class SnapshotFactory {
    public static final long LAB_VERSION = 1;
    private static final int ALL_ICMP = -1; // EC2: type/code -1 means every ICMP type/code

    private SnapshotFactory() {
    }

    public static NodeSnapshot snapshot(LabSpec spec) {
        List<NodeSnapshot.Vpc> vpcs = new ArrayList<>();
        List<NodeSnapshot.Subnet> subnets = new ArrayList<>();
        List<NodeSnapshot.SecurityGroup> groups = new ArrayList<>();
        List<NodeSnapshot.NetworkAcl> acls = new ArrayList<>();
        List<NodeSnapshot.RouteTable> tables = new ArrayList<>();
        List<NodeSnapshot.Eni> enis = new ArrayList<>();
        if (spec.internet()) {
            // First, as the control plane publishes it (control.nodes.ServiceEgress).
            vpcs.add(ServiceEgressNetwork.VPC);
            subnets.add(ServiceEgressNetwork.SUBNET);
            groups.add(ServiceEgressNetwork.GROUP);
            acls.add(ServiceEgressNetwork.ACL);
            tables.add(ServiceEgressNetwork.ROUTES);
            enis.add(ServiceEgressNetwork.ENI);
        }
        for (LabSpec.Vpc vpc : spec.vpcs()) {
            vpcs.add(new NodeSnapshot.Vpc(vpc.id(), vpc.cidr()));
            for (LabSpec.Subnet subnet : vpc.subnets()) {
                subnets.add(new NodeSnapshot.Subnet(subnet.id(), vpc.id(), subnet.cidr(), subnet.vni(),
                        vpc.router().underlayIp(), vpc.networkAclOf(subnet), vpc.routeTableOf(subnet)));
            }
            Map<String, List<String>> members = members(vpc);
            for (LabSpec.SecurityGroup group : vpc.securityGroups()) {
                groups.add(new NodeSnapshot.SecurityGroup(group.id(), group.egress().stream().map(SnapshotFactory::rule).toList(),
                        members.getOrDefault(group.id(), List.of())));
            }
            for (LabSpec.NetworkAcl acl : vpc.networkAcls()) {
                List<NodeSnapshot.NetworkAclEntry> entries = new ArrayList<>();
                acl.egress().forEach(rule -> entries.add(entry(rule, true)));
                acl.ingress().forEach(rule -> entries.add(entry(rule, false)));
                acls.add(new NodeSnapshot.NetworkAcl(acl.id(), entries));
            }
            for (LabSpec.RouteTable table : vpc.routeTables()) {
                tables.add(new NodeSnapshot.RouteTable(table.id(), table.routes().stream()
                        .map(route -> new NodeSnapshot.Route(route.destination(), route.target())).toList()));
            }
            for (LabSpec.Eni eni : vpc.enis()) {
                enis.add(new NodeSnapshot.Eni(eni.id(), eni.ip(), eni.mac(), eni.subnet(), eni.securityGroups()));
            }
        }
        List<NodeSnapshot.ExecutionEnvironment> ees = new ArrayList<>();
        for (LabSpec.Host host : spec.hosts()) {
            for (LabSpec.Ee ee : host.executionEnvironments()) {
                ees.add(new NodeSnapshot.ExecutionEnvironment(ee.name(), ee.vni(), host.underlayIp(), ee.ip(), ee.mac(), ee.eni()));
            }
        }
        NodeSnapshot.Gateway gateway = new NodeSnapshot.Gateway(spec.eeNetwork().gateway(), spec.eeNetwork().gatewayMac());
        return new NodeSnapshot(LAB_VERSION, gateway, vpcs, subnets, groups, acls, tables, enis, ees);
    }

    /** A group's members are the addresses of the interfaces in it: its ENIs and resource hosts. */
    private static Map<String, List<String>> members(LabSpec.Vpc vpc) {
        Map<String, List<String>> members = new LinkedHashMap<>();
        for (LabSpec.Eni eni : vpc.enis()) {
            eni.securityGroups().forEach(group -> members.computeIfAbsent(group, g -> new ArrayList<>()).add(eni.ip()));
        }
        for (LabSpec.Resource resource : vpc.resources()) {
            resource.securityGroups().forEach(group -> members.computeIfAbsent(group, g -> new ArrayList<>()).add(resource.ip()));
        }
        return members;
    }

    private static NodeSnapshot.SecurityGroupRule rule(LabSpec.SecurityGroupRule rule) {
        int protocol = Protocols.parse(rule.protocol());
        int[] ports = Protocols.hasPorts(protocol) ? LabSpec.portRange(rule.ports(), "security group rule") : new int[]{ALL_ICMP, ALL_ICMP};
        return new NodeSnapshot.SecurityGroupRule(ec2Name(protocol), ports[0], ports[1], rule.cidr(), rule.group());
    }

    private static NodeSnapshot.NetworkAclEntry entry(LabSpec.AclRule rule, boolean egress) {
        int protocol = Protocols.parse(rule.protocol());
        int[] ports = LabSpec.portRange(rule.ports(), "network ACL rule " + rule.rule());
        return new NodeSnapshot.NetworkAclEntry(rule.rule(), egress, ec2Name(protocol), rule.action(), rule.cidr(), ports[0], ports[1],
                rule.icmpType() == null ? ALL_ICMP : rule.icmpType(), rule.icmpCode() == null ? ALL_ICMP : rule.icmpCode());
    }

    /** EC2's spelling of a protocol: tcp, udp, icmp, -1 for all, else the number. */
    private static String ec2Name(int protocol) {
        return switch (protocol) {
            case Protocols.ALL -> "-1";
            case 6 -> "tcp";
            case 17 -> "udp";
            case 1 -> "icmp";
            default -> Integer.toString(protocol);
        };
    }
}
