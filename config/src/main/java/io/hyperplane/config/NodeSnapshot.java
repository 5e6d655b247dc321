package io.hyperplane.config;

import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.VxlanHeader;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Everything a forwarder node needs, as of one {@code version}: the Hyperplane ENIs it serves,
 * the execution environments tunnelled to them, and the VPC policy that applies. The control
 * plane pushes this shape; {@code hyperplane node --config FILE} reads it from a file.
 * <p>
 * Validated as a whole when constructed: identifiers unique, every reference resolvable, VNIs
 * unique across subnets and execution environments, every ENI inside its subnet. Addresses belong
 * to networks (DESIGN.md §9): the same CIDR in many VPCs and the same ENI address in many VPCs are
 * normal; within one VPC, subnets do not overlap and an address is one ENI's.
 */
public record NodeSnapshot(
        long version,
        Gateway eeGateway,
        List<Vpc> vpcs,
        List<Subnet> subnets,
        List<SecurityGroup> securityGroups,
        List<NetworkAcl> networkAcls,
        List<RouteTable> routeTables,
        List<Eni> enis,
        List<ExecutionEnvironment> executionEnvironments,
        List<NatGateway> natGateways) {

    public NodeSnapshot {
        if (version < 0) {
            throw new IllegalArgumentException("version " + version + ": must be >= 0");
        }
        Objects.requireNonNull(eeGateway, "eeGateway: missing");
        vpcs = List.copyOf(orEmpty(vpcs));
        subnets = List.copyOf(orEmpty(subnets));
        securityGroups = List.copyOf(orEmpty(securityGroups));
        networkAcls = List.copyOf(orEmpty(networkAcls));
        routeTables = List.copyOf(orEmpty(routeTables));
        enis = List.copyOf(orEmpty(enis));
        executionEnvironments = List.copyOf(orEmpty(executionEnvironments));
        natGateways = List.copyOf(orEmpty(natGateways));
        validateReferences(vpcs, subnets, securityGroups, networkAcls, routeTables, enis, executionEnvironments, natGateways);
    }

    /** A snapshot without NAT gateways. */
    public NodeSnapshot(long version, Gateway eeGateway, List<Vpc> vpcs, List<Subnet> subnets, List<SecurityGroup> securityGroups,
                        List<NetworkAcl> networkAcls, List<RouteTable> routeTables, List<Eni> enis,
                        List<ExecutionEnvironment> executionEnvironments) {
        this(version, eeGateway, vpcs, subnets, securityGroups, networkAcls, routeTables, enis, executionEnvironments, List.of());
    }

    /** This snapshot as {@code newVersion}, everything else the same. */
    public NodeSnapshot withVersion(long newVersion) {
        return new NodeSnapshot(newVersion, eeGateway, vpcs, subnets, securityGroups, networkAcls, routeTables, enis,
                executionEnvironments, natGateways);
    }

    /** This snapshot with {@code environments} instead of its own, validated again. */
    public NodeSnapshot withEnvironments(long newVersion, List<ExecutionEnvironment> environments) {
        return new NodeSnapshot(newVersion, eeGateway, vpcs, subnets, securityGroups, networkAcls, routeTables, enis,
                environments, natGateways);
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    private static void validateReferences(List<Vpc> vpcs, List<Subnet> subnets, List<SecurityGroup> groups,
                                           List<NetworkAcl> acls, List<RouteTable> tables, List<Eni> enis,
                                           List<ExecutionEnvironment> ees, List<NatGateway> natGateways) {
        Map<String, Vpc> vpcById = index("vpc", vpcs, Vpc::id);
        Map<String, Subnet> subnetById = index("subnet", subnets, Subnet::id);
        Map<String, SecurityGroup> groupById = index("security group", groups, SecurityGroup::id);
        Map<String, NetworkAcl> aclById = index("network ACL", acls, NetworkAcl::id);
        Map<String, RouteTable> tableById = index("route table", tables, RouteTable::id);
        Map<String, Eni> eniById = index("eni", enis, Eni::id);
        index("execution environment", ees, ExecutionEnvironment::id);
        NetworkAdmission admission = new NetworkAdmission();
        for (Subnet subnet : subnets) {
            Vpc vpc = require(vpcById, subnet.vpcId(), "subnet " + subnet.id() + ": vpc");
            require(aclById, subnet.networkAclId(), "subnet " + subnet.id() + ": networkAclId");
            require(tableById, subnet.routeTableId(), "subnet " + subnet.id() + ": routeTableId");
            admission.admitSubnet(vpc, subnet);
        }
        for (SecurityGroup group : groups) {
            for (SecurityGroupRule rule : group.egress()) {
                if (rule.groupId() != null) {
                    require(groupById, rule.groupId(), "security group " + group.id() + ": egress rule groupId");
                }
            }
        }
        for (Eni eni : enis) {
            admission.admitEni(require(subnetById, eni.subnetId(), "eni " + eni.id() + ": subnetId"), eni);
            for (String groupId : eni.securityGroupIds()) {
                require(groupById, groupId, "eni " + eni.id() + ": securityGroupIds");
            }
        }
        for (ExecutionEnvironment ee : ees) {
            require(eniById, ee.eniId(), "execution environment " + ee.id() + ": eniId");
            admission.admitEnvironment(ee);
        }
        index("NAT gateway", natGateways, NatGateway::id);
        for (NatGateway nat : natGateways) {
            if (eniById.containsKey(nat.id())) {
                throw new IllegalArgumentException("NAT gateway " + nat.id() + ": id is an ENI's too");
            }
            admission.admitEni(require(subnetById, nat.subnetId(), "NAT gateway " + nat.id() + ": subnetId"),
                    new Eni(nat.id(), nat.ip(), nat.mac(), nat.subnetId(), List.of()));
        }
    }

    private static <T> Map<String, T> index(String kind, List<T> items, Function<T, String> id) {
        Map<String, T> byId = new HashMap<>();
        for (T item : items) {
            if (byId.put(id.apply(item), item) != null) {
                throw new IllegalArgumentException(kind + " " + id.apply(item) + ": id is used twice");
            }
        }
        return byId;
    }

    private static <T> T require(Map<String, T> byId, String id, String what) {
        T found = byId.get(id);
        if (found == null) {
            throw new IllegalArgumentException(what + " " + id + ": no such resource in the snapshot");
        }
        return found;
    }

    static String requireId(String id, String what) {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException(what + ": id missing");
        }
        return id;
    }

    static int requireVni(int vni, String what) {
        if (vni < 1 || vni > VxlanHeader.MAX_VNI) {
            throw new IllegalArgumentException(what + ": vni " + vni + " must be 1.." + VxlanHeader.MAX_VNI);
        }
        return vni;
    }

    static void requirePortRange(int from, int to, String what) {
        if (from < 0 || to > 65535 || from > to) {
            throw new IllegalArgumentException(what + ": port range " + from + "-" + to + " must satisfy 0 <= from <= to <= 65535");
        }
    }

    /** The address execution environments use as their default gateway, answered by every node. */
    public record Gateway(String ip, String mac) {
        /** The gateway the control plane gives every execution environment (RFC 6598 shared space). */
        public static final Gateway DEFAULT = new Gateway("100.64.0.1", "02:48:50:00:00:01");

        public Gateway {
            Ipv4Address.parse(ip);
            MacAddress.parse(mac);
        }
    }

    public record Vpc(String id, String cidr) {
        public Vpc {
            requireId(id, "vpc");
            Ipv4Cidr.parse(cidr);
        }
    }

    /**
     * A subnet as the node sees it: its VNI on the tunnel toward the VPC, and the VPC's VTEP
     * (underlay address) that terminates it. The subnet router is the first host address, as in AWS.
     */
    public record Subnet(String id, String vpcId, String cidr, int vni, String vtep, String networkAclId, String routeTableId) {
        public Subnet {
            requireId(id, "subnet");
            Ipv4Cidr.parse(cidr);
            requireVni(vni, "subnet " + id);
            Ipv4Address.parse(vtep);
        }

        public int gatewayIp() {
            return Ipv4Cidr.parse(cidr).network() + 1;
        }
    }

    /** A security group: its egress rules and the addresses of the interfaces that belong to it. */
    public record SecurityGroup(String id, List<SecurityGroupRule> egress, List<String> members) {
        public SecurityGroup {
            requireId(id, "security group");
            egress = List.copyOf(orEmpty(egress));
            members = List.copyOf(orEmpty(members));
            members.forEach(Ipv4Address::parse);
        }
    }

    /** One rule: protocol, port range (TCP/UDP) and either a CIDR or a referenced group. */
    public record SecurityGroupRule(String protocol, int fromPort, int toPort, String cidr, String groupId) {
        public SecurityGroupRule {
            int number = Protocols.parse(protocol);
            if (Protocols.hasPorts(number)) {
                requirePortRange(fromPort, toPort, "security group rule " + protocol);
            }
            if ((cidr == null) == (groupId == null)) {
                throw new IllegalArgumentException("security group rule " + protocol + " " + fromPort + "-" + toPort + ": give exactly one of cidr and groupId");
            }
            if (cidr != null) {
                Ipv4Cidr.parse(cidr);
            }
        }
    }

    public record NetworkAcl(String id, List<NetworkAclEntry> entries) {
        public NetworkAcl {
            requireId(id, "network ACL");
            entries = List.copyOf(orEmpty(entries));
            Set<String> seen = new HashSet<>();
            for (NetworkAclEntry entry : entries) {
                if (!seen.add(entry.egress() + "/" + entry.ruleNumber())) {
                    throw new IllegalArgumentException("network ACL " + id + ": rule " + entry.ruleNumber() + " (" + (entry.egress() ? "egress" : "ingress") + ") appears twice");
                }
            }
        }
    }

    /**
     * A numbered, stateless ACL rule (EC2 CreateNetworkAclEntry). Rules are evaluated in ascending
     * number, the first match decides, and anything unmatched is denied. ICMP type/code -1 mean all.
     */
    public record NetworkAclEntry(int ruleNumber, boolean egress, String protocol, String action, String cidr,
                                  int fromPort, int toPort, int icmpType, int icmpCode) {
        public static final int MAX_RULE_NUMBER = 32766; // EC2 limit; 32767 is the implicit deny

        public NetworkAclEntry {
            if (ruleNumber < 1 || ruleNumber > MAX_RULE_NUMBER) {
                throw new IllegalArgumentException("network ACL rule " + ruleNumber + ": number must be 1.." + MAX_RULE_NUMBER);
            }
            int number = Protocols.parse(protocol);
            if (!"allow".equals(action) && !"deny".equals(action)) {
                throw new IllegalArgumentException("network ACL rule " + ruleNumber + ": action '" + action + "' must be allow or deny");
            }
            Ipv4Cidr.parse(cidr);
            if (Protocols.hasPorts(number)) {
                requirePortRange(fromPort, toPort, "network ACL rule " + ruleNumber);
            }
        }

        public boolean allows() {
            return "allow".equals(action);
        }
    }

    public record RouteTable(String id, List<Route> routes) {
        public RouteTable {
            requireId(id, "route table");
            routes = List.copyOf(orEmpty(routes));
        }
    }

    /**
     * A route: destination prefix and target: "local", "blackhole", an internet gateway "igw-…" or
     * a NAT gateway "nat-…" (DESIGN.md §11). What a node does with a gateway target depends on who
     * sends: a Lambda ENI has no public address, so "igw-…" is no way out for it (drop-no-route),
     * while "nat-…" sends it to the subnet's router, which hands it to the NAT gateway; a NAT
     * gateway or the service egress send "igw-…" traffic to their subnet's router, which maps them
     * onto their public address.
     */
    public record Route(String destination, String target) {
        public Route {
            Ipv4Cidr.parse(destination);
            requireId(target, "route " + destination + " target");
        }
    }

    /**
     * A Hyperplane ENI: one address in one subnet, shared by every EE of its (subnet, SG set).
     * {@code kind} is {@link #LAMBDA} (null reads as it) or {@link #SERVICE_EGRESS}: the
     * service-owned egress of functions without a VpcConfig (config.fabric.Internet), which forwards
     * only to public addresses.
     */
    public record Eni(String id, String ip, String mac, String subnetId, List<String> securityGroupIds, String kind) {
        public static final String LAMBDA = "lambda";
        public static final String SERVICE_EGRESS = "service-egress";

        public Eni {
            requireId(id, "eni");
            Ipv4Address.parse(ip);
            MacAddress.parse(mac);
            securityGroupIds = List.copyOf(orEmpty(securityGroupIds));
            kind = kind == null ? LAMBDA : kind;
            if (!kind.equals(LAMBDA) && !kind.equals(SERVICE_EGRESS)) {
                throw new IllegalArgumentException("eni " + id + ": kind '" + kind + "' must be " + LAMBDA + " or " + SERVICE_EGRESS);
            }
        }

        public Eni(String id, String ip, String mac, String subnetId, List<String> securityGroupIds) {
            this(id, ip, mac, subnetId, securityGroupIds, LAMBDA);
        }

        public boolean serviceEgress() {
            return SERVICE_EGRESS.equals(kind);
        }
    }

    /**
     * A NAT gateway, a Hyperplane service on the nodes like a Lambda ENI (DESIGN.md §11): its private
     * address and MAC in its subnet. Frames its subnet's router sends to that MAC are flows from
     * the VPC's private subnets, source-NATed onto {@code ip} (a port per destination, at most
     * 55,000 connections to one destination IP, port and protocol) and routed by its subnet's route
     * table; a public NAT gateway's subnet routes to an internet gateway, whose router maps {@code ip}
     * onto its Elastic IP.
     */
    public record NatGateway(String id, String ip, String mac, String subnetId) {
        public NatGateway {
            requireId(id, "NAT gateway");
            Ipv4Address.parse(ip);
            MacAddress.parse(mac);
            requireId(subnetId, "NAT gateway " + id + " subnet");
        }
    }

    /**
     * An execution environment: its own VNI, the underlay address of the worker host whose
     * kernel VXLAN device carries it, its inner address and MAC, and the ENI it egresses through.
     */
    public record ExecutionEnvironment(String id, int vni, String host, String ip, String mac, String eniId) {
        public ExecutionEnvironment {
            requireId(id, "execution environment");
            requireVni(vni, "execution environment " + id);
            Ipv4Address.parse(host);
            Ipv4Address.parse(ip);
            MacAddress.parse(mac);
        }
    }
}
