package io.hyperplane.lab.spec;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.hyperplane.config.Protocols;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.VxlanHeader;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the lab builds, as one validated value: the underlay, the forwarder nodes, the worker hosts
 * with their execution environments, and the customer VPCs with subnets, policy, Hyperplane ENIs
 * and resource hosts; and, with {@code internet: true}, the simulated internet and the service
 * egress (config.fabric.Internet). Loaded from YAML by {@link LabSpecYaml}; lab/README.md
 * describes the shape.
 * <p>
 * Names ({@code node1}, {@code ee1}, {@code res1}, ...) become namespace names behind the
 * {@link #prefix()}: {@code hp-node1}. Ids ({@code vpc-1}, {@code subnet-1}, {@code eni-1}) are
 * the resources' identities in the node's config snapshot.
 * <pre>
 *   underlay bridge (prefix+"underlay")  -- nodes, hosts, VPC routers on 198.18.0.0/15
 *   host  --kernel VXLAN, VNI per EE-->  node  --VXLAN, VNI per subnet-->  VPC router bridges
 * </pre>
 */
@JsonPropertyOrder({"prefix", "underlay", "eeNetwork", "internet", "nodes", "hosts", "vpcs"})
public record LabSpec(String prefix, Underlay underlay, EeNetwork eeNetwork, boolean internet, List<Node> nodes, List<Host> hosts,
                      List<Vpc> vpcs) {
    public static final String DEFAULT_PREFIX = "hp-";
    /** The namespace holding the underlay bridge is prefix + this; no other name may take it. */
    public static final String UNDERLAY_NAME = "underlay";
    public static final int MAX_PREFIX_LENGTH = 8; // leaves room for "vx" + a VNI in a 15-character interface name
    public static final int MAX_NAME_LENGTH = 32; // namespace names are files; keep them readable
    /** Linux interface names hold at most 15 characters (IFNAMSIZ 16, including the NUL). */
    public static final int MAX_INTERFACE_NAME = 15;
    public static final int DEFAULT_UNDERLAY_MTU = 1600;
    public static final int VXLAN_OVERHEAD = 50; // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 (RFC 7348 §5)
    public static final int INNER_MTU = 1500;
    public static final int DEFAULT_VXLAN_PORT = 4789; // IANA port for VXLAN (RFC 7348 §5)
    public static final int MIN_SUBNET_PREFIX = 16; // EC2 CreateSubnet: /16 ... /28
    public static final int MAX_SUBNET_PREFIX = 28;
    public static final int RESERVED_LOW_ADDRESSES = 4; // EC2 reserves the first four addresses of a subnet and the last
    /**
     * The most forwarder nodes {@code --nodes} asks for: each is a JVM of its own on this one
     * machine, and eight already outnumber the cores of the machines the lab runs on.
     */
    public static final int MAX_NODES = 8;

    private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9-]*");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");

    public LabSpec {
        prefix = requirePrefix(prefix == null ? DEFAULT_PREFIX : prefix);
        if (underlay == null) {
            throw new IllegalArgumentException("underlay: missing");
        }
        if (eeNetwork == null) {
            throw new IllegalArgumentException("eeNetwork: missing");
        }
        nodes = List.copyOf(orEmpty(nodes));
        hosts = List.copyOf(orEmpty(hosts));
        vpcs = List.copyOf(orEmpty(vpcs));
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("nodes: at least one forwarder node is required");
        }
        new CrossChecks(prefix, underlay, eeNetwork, internet, nodes, hosts, vpcs).run();
    }

    /** Checks a prefix: it names namespaces, interfaces and the default state directory. */
    public static String requirePrefix(String prefix) {
        if (prefix == null || !PREFIX.matcher(prefix).matches() || prefix.length() > MAX_PREFIX_LENGTH) {
            throw new IllegalArgumentException("prefix '" + prefix + "': must be 1.." + MAX_PREFIX_LENGTH
                    + " characters of a-z, 0-9 and '-', starting with a letter");
        }
        return prefix;
    }

    /** The same lab under another prefix, so two labs can exist side by side. */
    public LabSpec withPrefix(String newPrefix) {
        return new LabSpec(newPrefix, underlay, eeNetwork, internet, nodes, hosts, vpcs);
    }

    /**
     * The same lab with {@code count} forwarder nodes ({@code --nodes}): the spec's first
     * {@code count}, or all of them and more after the last, named {@code node2}, {@code node3}, ...
     * (the first such name that is free) on the next free underlay addresses after the last node's.
     * Hosts and VPC routers keep the node they name; one that names a node left out is refused.
     */
    public LabSpec withNodes(int count) {
        if (count < 1 || count > MAX_NODES) {
            throw new IllegalArgumentException("nodes " + count + ": must be 1.." + MAX_NODES + " (each node is a process of its own on this machine)");
        }
        if (count <= nodes.size()) {
            List<Node> kept = nodes.subList(0, count);
            for (Host host : hosts) {
                requireKept(kept, host.node(), "host " + host.name());
            }
            for (Vpc vpc : vpcs) {
                requireKept(kept, vpc.router().node(), "vpc router " + vpc.router().name());
            }
            return new LabSpec(prefix, underlay, eeNetwork, internet, kept, hosts, vpcs);
        }
        Set<String> names = new HashSet<>(namespaces());
        Set<Integer> addresses = new HashSet<>();
        nodes.forEach(node -> addresses.add(Ipv4Address.parse(node.underlayIp())));
        hosts.forEach(host -> addresses.add(Ipv4Address.parse(host.underlayIp())));
        vpcs.forEach(vpc -> addresses.add(Ipv4Address.parse(vpc.router().underlayIp())));
        if (internet) {
            addresses.add(Ipv4Address.parse(Internet.ROUTER_VTEP));
        }
        Ipv4Cidr range = Ipv4Cidr.parse(underlay.cidr());
        List<Node> more = new ArrayList<>(nodes);
        int number = 1;
        int address = Ipv4Address.parse(nodes.getLast().underlayIp());
        while (more.size() < count) {
            while (names.contains(namespace("node" + number))) {
                number++;
            }
            do {
                address++;
            } while (addresses.contains(address));
            if (!range.contains(address) || address == range.last()) {
                throw new IllegalArgumentException("nodes " + count + ": underlay " + underlay.cidr() + " has no free address after "
                        + more.getLast().underlayIp() + " for another node");
            }
            Node node = new Node("node" + number, Ipv4Address.format(address));
            names.add(namespace(node.name()));
            addresses.add(address);
            more.add(node);
        }
        return new LabSpec(prefix, underlay, eeNetwork, internet, more, hosts, vpcs);
    }

    private static void requireKept(List<Node> kept, String node, String what) {
        if (node != null && kept.stream().noneMatch(n -> n.name().equals(node))) {
            throw new IllegalArgumentException("nodes " + kept.size() + ": " + what + " tunnels to node " + node + ", which would be left out");
        }
    }

    /** The namespace name for a lab name: {@code node1} becomes {@code hp-node1}. */
    public String namespace(String name) {
        return prefix + name;
    }

    public String underlayNamespace() {
        return namespace(UNDERLAY_NAME);
    }

    /** Every namespace the lab creates, in creation order (the order {@code down} reverses). */
    public List<String> namespaces() {
        List<String> names = new ArrayList<>();
        names.add(underlayNamespace());
        nodes.forEach(node -> names.add(namespace(node.name())));
        for (Host host : hosts) {
            names.add(namespace(host.name()));
            host.executionEnvironments().forEach(ee -> names.add(namespace(ee.name())));
        }
        for (Vpc vpc : vpcs) {
            names.add(namespace(vpc.router().name()));
            vpc.resources().forEach(resource -> names.add(namespace(resource.name())));
        }
        if (internet) {
            names.add(internetNamespace());
            names.add(internetHostsNamespace());
        }
        return names;
    }

    /** The internet router's namespace, when the lab has the internet. */
    public String internetNamespace() {
        return LabFabric.internetNamespace(prefix);
    }

    /** The simulated internet's hosts' namespace (203.0.113.10 and .53), when the lab has the internet. */
    public String internetHostsNamespace() {
        return LabFabric.internetHostsNamespace(prefix);
    }

    /** The node a host or VPC router tunnels to: the one it names, else the first. */
    public Node node(String nameOrNull) {
        if (nameOrNull == null) {
            return nodes.getFirst();
        }
        return nodes.stream().filter(node -> node.name().equals(nameOrNull)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("node " + nameOrNull + ": no such node in the lab"));
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    static String requireName(String name, String what) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(what + ": name missing");
        }
        if (!NAME.matcher(name).matches() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException(what + " '" + name + "': name must be 1.." + MAX_NAME_LENGTH
                    + " characters of a-z, 0-9 and '-'");
        }
        if (name.equals(UNDERLAY_NAME)) {
            throw new IllegalArgumentException(what + " '" + name + "': name is reserved for the underlay namespace");
        }
        return name;
    }

    static String requireId(String id, String what) {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException(what + ": id missing");
        }
        return id;
    }

    static String requireAddress(String ip, String what) {
        if (ip == null) {
            throw new IllegalArgumentException(what + ": ip missing");
        }
        try {
            Ipv4Address.parse(ip);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
        return ip;
    }

    static String requireCidr(String cidr, String what) {
        if (cidr == null) {
            throw new IllegalArgumentException(what + ": cidr missing");
        }
        try {
            Ipv4Cidr.parse(cidr);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
        return cidr;
    }

    static String requireMacOrNull(String mac, String what) {
        if (mac != null) {
            long value;
            try {
                value = MacAddress.parse(mac);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + ": " + e.getMessage() + " (quote MAC addresses in YAML)", e);
            }
            if (MacAddress.isMulticast(value)) {
                throw new IllegalArgumentException(what + ": " + mac + " is a group address; an interface needs a unicast one (first octet even)");
            }
        }
        return mac;
    }

    static int requireVni(int vni, String what) {
        if (vni < 1 || vni > VxlanHeader.MAX_VNI) {
            throw new IllegalArgumentException(what + ": vni " + vni + " must be 1.." + VxlanHeader.MAX_VNI);
        }
        return vni;
    }

    static int requireProtocol(String protocol, String what) {
        try {
            return Protocols.parse(protocol);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses {@code "80"} or {@code "1024-65535"}; {@code null} means every port.
     *
     * @return {from, to}
     */
    public static int[] portRange(String ports, String what) {
        if (ports == null || ports.isBlank()) {
            return new int[]{0, 65535};
        }
        try {
            int dash = ports.indexOf('-');
            int from = Integer.parseInt(ports.substring(0, dash < 0 ? ports.length() : dash).trim());
            int to = dash < 0 ? from : Integer.parseInt(ports.substring(dash + 1).trim());
            if (from < 0 || to > 65535 || from > to) {
                throw new IllegalArgumentException(what + ": ports " + ports + " must satisfy 0 <= from <= to <= 65535");
            }
            return new int[]{from, to};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": ports '" + ports + "' must be a port or a range such as 1024-65535", e);
        }
    }

    /** The underlay: one bridge every node, host and VPC router joins; VXLAN runs over it. */
    @JsonPropertyOrder({"cidr", "mtu", "vxlanPort"})
    public record Underlay(String cidr, Integer mtu, Integer vxlanPort) {
        public Underlay {
            requireCidr(cidr, "underlay");
            mtu = mtu == null ? DEFAULT_UNDERLAY_MTU : mtu;
            vxlanPort = vxlanPort == null ? DEFAULT_VXLAN_PORT : vxlanPort;
            if (mtu < INNER_MTU + VXLAN_OVERHEAD || mtu > 9000) {
                throw new IllegalArgumentException("underlay mtu " + mtu + ": must be " + (INNER_MTU + VXLAN_OVERHEAD)
                        + "..9000 so a 1500-byte inner frame fits with " + VXLAN_OVERHEAD + " bytes of VXLAN overhead");
            }
            if (vxlanPort < 1 || vxlanPort > 65535) {
                throw new IllegalArgumentException("underlay vxlanPort " + vxlanPort + ": must be 1..65535");
            }
        }

        public int prefixLength() {
            return Ipv4Cidr.parse(cidr).prefixLength();
        }
    }

    /** The network execution environments live in, and the gateway the nodes answer for. */
    @JsonPropertyOrder({"cidr", "gateway", "gatewayMac"})
    public record EeNetwork(String cidr, String gateway, String gatewayMac) {
        public EeNetwork {
            requireCidr(cidr, "eeNetwork");
            requireAddress(gateway, "eeNetwork gateway");
            if (gatewayMac == null) {
                throw new IllegalArgumentException("eeNetwork gatewayMac: missing");
            }
            requireMacOrNull(gatewayMac, "eeNetwork gatewayMac");
            if (!Ipv4Cidr.parse(cidr).contains(Ipv4Address.parse(gateway))) {
                throw new IllegalArgumentException("eeNetwork gateway " + gateway + ": outside " + cidr);
            }
        }

        public int prefixLength() {
            return Ipv4Cidr.parse(cidr).prefixLength();
        }
    }

    /** A forwarder node: a namespace on the underlay where {@code hyperplane node} runs. */
    @JsonPropertyOrder({"name", "underlayIp"})
    public record Node(String name, String underlayIp) {
        public Node {
            requireName(name, "node");
            requireAddress(underlayIp, "node " + name + " underlayIp");
        }
    }

    /** A worker host: owns the VXLAN devices of its execution environments (their VTEP). */
    @JsonPropertyOrder({"name", "underlayIp", "node", "executionEnvironments"})
    public record Host(String name, String underlayIp, String node, List<Ee> executionEnvironments) {
        public Host {
            requireName(name, "host");
            requireAddress(underlayIp, "host " + name + " underlayIp");
            executionEnvironments = List.copyOf(orEmpty(executionEnvironments));
        }
    }

    /** An execution environment: a namespace whose only link is its VXLAN device (VNI = its identity). */
    @JsonPropertyOrder({"name", "ip", "vni", "mac", "eni"})
    public record Ee(String name, String ip, int vni, String mac, String eni) {
        public Ee {
            requireName(name, "execution environment");
            requireAddress(ip, "execution environment " + name);
            requireVni(vni, "execution environment " + name);
            requireMacOrNull(mac, "execution environment " + name + " mac");
            mac = mac == null ? derivedMac(0x02ee, ip) : mac;
            requireId(eni, "execution environment " + name + " eni");
        }
    }

    /** A locally administered MAC: two fixed octets, then the four octets of the address. */
    static String derivedMac(int firstTwoOctets, String ip) {
        return MacAddress.format(((long) firstTwoOctets << 32) | (Ipv4Address.parse(ip) & 0xffff_ffffL));
    }

    /** A customer VPC: a router namespace holding one bridge per subnet, plus policy and resources. */
    @JsonPropertyOrder({"id", "cidr", "router", "subnets", "securityGroups", "networkAcls", "routeTables", "enis", "resources"})
    public record Vpc(String id, String cidr, Router router, List<Subnet> subnets, List<SecurityGroup> securityGroups,
                      List<NetworkAcl> networkAcls, List<RouteTable> routeTables, List<Eni> enis, List<Resource> resources) {
        public Vpc {
            requireId(id, "vpc");
            requireCidr(cidr, "vpc " + id);
            if (router == null) {
                throw new IllegalArgumentException("vpc " + id + ": router missing");
            }
            subnets = List.copyOf(orEmpty(subnets));
            securityGroups = List.copyOf(orEmpty(securityGroups));
            networkAcls = List.copyOf(orEmpty(networkAcls));
            routeTables = List.copyOf(orEmpty(routeTables));
            enis = List.copyOf(orEmpty(enis));
            resources = List.copyOf(orEmpty(resources));
        }

        public Subnet subnet(String subnetId) {
            return subnets.stream().filter(s -> s.id().equals(subnetId)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("subnet " + subnetId + ": not in vpc " + id));
        }

        /** The subnet's network ACL: its own, else the VPC's default one (EC2 association rules). */
        public String networkAclOf(Subnet subnet) {
            if (subnet.networkAcl() != null) {
                return subnet.networkAcl();
            }
            return networkAcls.stream().filter(NetworkAcl::isDefault).map(NetworkAcl::id).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("subnet " + subnet.id() + ": no networkAcl given and vpc " + id + " has no default network ACL"));
        }

        /** The subnet's route table: its own, else the VPC's main one (EC2 association rules). */
        public String routeTableOf(Subnet subnet) {
            if (subnet.routeTable() != null) {
                return subnet.routeTable();
            }
            return routeTables.stream().filter(RouteTable::main).map(RouteTable::id).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("subnet " + subnet.id() + ": no routeTable given and vpc " + id + " has no main route table"));
        }
    }

    /** The VPC's router namespace: the VTEP of its subnets on the underlay, and their gateway. */
    @JsonPropertyOrder({"name", "underlayIp", "node"})
    public record Router(String name, String underlayIp, String node) {
        public Router {
            requireName(name, "vpc router");
            requireAddress(underlayIp, "vpc router " + name + " underlayIp");
        }
    }

    /** A subnet: a bridge in the router namespace, addressed with the subnet's first host address. */
    @JsonPropertyOrder({"id", "cidr", "vni", "networkAcl", "routeTable"})
    public record Subnet(String id, String cidr, int vni, String networkAcl, String routeTable) {
        public Subnet {
            requireId(id, "subnet");
            requireCidr(cidr, "subnet " + id);
            int length = Ipv4Cidr.parse(cidr).prefixLength();
            if (length < MIN_SUBNET_PREFIX || length > MAX_SUBNET_PREFIX) {
                throw new IllegalArgumentException("subnet " + id + ": cidr " + cidr + " prefix length must be "
                        + MIN_SUBNET_PREFIX + ".." + MAX_SUBNET_PREFIX + " (EC2 limits)");
            }
            requireVni(vni, "subnet " + id);
        }

        /** The subnet router's address: the first host address, as in AWS. */
        public String gateway() {
            return Ipv4Address.format(Ipv4Cidr.parse(cidr).network() + 1);
        }

        public int prefixLength() {
            return Ipv4Cidr.parse(cidr).prefixLength();
        }

        /** True for the addresses EC2 keeps for itself: network, router, DNS, future use, broadcast. */
        public boolean isReserved(String ip) {
            Ipv4Cidr range = Ipv4Cidr.parse(cidr);
            int address = Ipv4Address.parse(ip);
            return address - range.network() < RESERVED_LOW_ADDRESSES || address == range.last();
        }
    }

    @JsonPropertyOrder({"id", "egress"})
    public record SecurityGroup(String id, List<SecurityGroupRule> egress) {
        public SecurityGroup {
            requireId(id, "security group");
            egress = List.copyOf(orEmpty(egress));
        }
    }

    /** An egress rule: protocol, ports (tcp/udp; omitted = all) and exactly one of cidr or group. */
    @JsonPropertyOrder({"protocol", "ports", "cidr", "group"})
    public record SecurityGroupRule(String protocol, String ports, String cidr, String group) {
        public SecurityGroupRule {
            String what = "security group rule " + protocol + (ports == null ? "" : " " + ports);
            int number = requireProtocol(protocol, what);
            if (Protocols.hasPorts(number)) {
                portRange(ports, what);
            } else if (ports != null) {
                throw new IllegalArgumentException(what + ": ports apply to tcp and udp only");
            }
            if ((cidr == null) == (group == null)) {
                throw new IllegalArgumentException(what + ": give exactly one of cidr and group");
            }
            if (cidr != null) {
                requireCidr(cidr, what);
            }
        }
    }

    /** A network ACL; {@code default: true} makes it the one subnets without their own use. */
    @JsonPropertyOrder({"id", "default", "egress", "ingress"})
    public record NetworkAcl(String id, @JsonProperty("default") boolean isDefault, List<AclRule> egress, List<AclRule> ingress) {
        public NetworkAcl {
            requireId(id, "network ACL");
            egress = List.copyOf(orEmpty(egress));
            ingress = List.copyOf(orEmpty(ingress));
            requireUniqueRules(id, "egress", egress);
            requireUniqueRules(id, "ingress", ingress);
        }

        private static void requireUniqueRules(String id, String direction, List<AclRule> rules) {
            Set<Integer> seen = new HashSet<>();
            for (AclRule rule : rules) {
                if (!seen.add(rule.rule())) {
                    throw new IllegalArgumentException("network ACL " + id + ": " + direction + " rule " + rule.rule() + " appears twice");
                }
            }
        }
    }

    /** A numbered, stateless ACL rule; ICMP type/code omitted = all. */
    @JsonPropertyOrder({"rule", "protocol", "action", "cidr", "ports", "icmpType", "icmpCode"})
    public record AclRule(int rule, String protocol, String action, String cidr, String ports, Integer icmpType, Integer icmpCode) {
        public static final int MAX_RULE_NUMBER = 32766; // EC2 limit; 32767 is the implicit deny

        public AclRule {
            String what = "network ACL rule " + rule;
            if (rule < 1 || rule > MAX_RULE_NUMBER) {
                throw new IllegalArgumentException(what + ": number must be 1.." + MAX_RULE_NUMBER);
            }
            int number = requireProtocol(protocol, what);
            if (!"allow".equals(action) && !"deny".equals(action)) {
                throw new IllegalArgumentException(what + ": action '" + action + "' must be allow or deny");
            }
            requireCidr(cidr, what);
            if (Protocols.hasPorts(number)) {
                portRange(ports, what);
            } else if (ports != null) {
                throw new IllegalArgumentException(what + ": ports apply to tcp and udp only");
            }
        }
    }

    /** A route table; {@code main: true} makes it the one subnets without their own use. */
    @JsonPropertyOrder({"id", "main", "routes"})
    public record RouteTable(String id, boolean main, List<Route> routes) {
        public RouteTable {
            requireId(id, "route table");
            routes = List.copyOf(orEmpty(routes));
        }
    }

    /** A route: destination prefix and target ("local", "blackhole", or a gateway id). */
    @JsonPropertyOrder({"destination", "target"})
    public record Route(String destination, String target) {
        public Route {
            requireCidr(destination, "route");
            requireId(target, "route " + destination + " target");
        }
    }

    /** A Hyperplane ENI: one address in one subnet, answered for by the nodes. */
    @JsonPropertyOrder({"id", "subnet", "ip", "mac", "securityGroups"})
    public record Eni(String id, String subnet, String ip, String mac, List<String> securityGroups) {
        public Eni {
            requireId(id, "eni");
            requireId(subnet, "eni " + id + " subnet");
            requireAddress(ip, "eni " + id);
            requireMacOrNull(mac, "eni " + id + " mac");
            mac = mac == null ? MacAddress.format(0x02_48_50_00_00_00L | (Ipv4Address.parse(ip) & 0xff_ffffL)) : mac;
            securityGroups = List.copyOf(orEmpty(securityGroups));
        }
    }

    /** A resource host: a namespace on one subnet running echo and HTTP services. */
    @JsonPropertyOrder({"name", "subnet", "ip", "securityGroups", "services"})
    public record Resource(String name, String subnet, String ip, List<String> securityGroups, List<Service> services) {
        public Resource {
            requireName(name, "resource");
            requireId(subnet, "resource " + name + " subnet");
            requireAddress(ip, "resource " + name);
            securityGroups = List.copyOf(orEmpty(securityGroups));
            services = List.copyOf(orEmpty(services));
            Set<String> seen = new HashSet<>();
            for (Service service : services) {
                if (!seen.add(service.proto() + "/" + service.port())) {
                    throw new IllegalArgumentException("resource " + name + ": " + service.proto() + " port " + service.port() + " is used twice");
                }
            }
        }
    }

    /** A service on a resource host: {@code echo} over tcp or udp, or {@code http} (GET /whoami). */
    @JsonPropertyOrder({"proto", "port", "kind"})
    public record Service(String proto, int port, String kind) {
        public static final String ECHO = "echo";
        public static final String HTTP = "http";

        public Service {
            String what = "service " + kind + " " + proto + " " + port;
            if (!"tcp".equals(proto) && !"udp".equals(proto)) {
                throw new IllegalArgumentException(what + ": proto must be tcp or udp");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(what + ": port must be 1..65535");
            }
            if (!ECHO.equals(kind) && !HTTP.equals(kind)) {
                throw new IllegalArgumentException(what + ": kind must be echo or http");
            }
            if (HTTP.equals(kind) && !"tcp".equals(proto)) {
                throw new IllegalArgumentException(what + ": http runs over tcp only");
            }
        }
    }

    /** Checks that span records: uniqueness, references, containment, interface-name lengths. */
    private record CrossChecks(String prefix, Underlay underlay, EeNetwork eeNetwork, boolean internet, List<Node> nodes, List<Host> hosts,
                               List<Vpc> vpcs) {
        void run() {
            Set<String> names = new HashSet<>();
            Map<Integer, String> underlayIps = new HashMap<>();
            Map<Integer, String> vnis = new HashMap<>();
            if (internet) {
                checkInternet(names, underlayIps, vnis);
            }
            Set<String> nodeNames = new HashSet<>();
            for (Node node : nodes) {
                uniqueName(names, node.name(), "node");
                nodeNames.add(node.name());
                underlayAddress(underlayIps, node.underlayIp(), "node " + node.name());
            }
            for (Host host : hosts) {
                uniqueName(names, host.name(), "host");
                underlayAddress(underlayIps, host.underlayIp(), "host " + host.name());
                nodeReference(nodeNames, host.node(), "host " + host.name());
            }
            Map<String, Eni> enis = new HashMap<>();
            Set<String> vpcIds = new HashSet<>();
            Set<String> subnetIds = new HashSet<>();
            Set<String> groupIds = new HashSet<>();
            for (Vpc vpc : vpcs) {
                if (!vpcIds.add(vpc.id())) {
                    throw new IllegalArgumentException("vpc " + vpc.id() + ": id is used twice");
                }
                checkVpc(vpc, names, underlayIps, vnis, nodeNames, enis, subnetIds, groupIds);
            }
            Set<Integer> eeIps = new HashSet<>();
            Ipv4Cidr eeRange = Ipv4Cidr.parse(eeNetwork.cidr());
            int eeGateway = Ipv4Address.parse(eeNetwork.gateway());
            for (Host host : hosts) {
                for (Ee ee : host.executionEnvironments()) {
                    String what = "execution environment " + ee.name();
                    uniqueName(names, ee.name(), "execution environment");
                    int ip = Ipv4Address.parse(ee.ip());
                    if (!eeRange.contains(ip) || ip == eeRange.network() || ip == eeRange.last()) {
                        throw new IllegalArgumentException(what + ": ip " + ee.ip() + " is not a host address of eeNetwork " + eeNetwork.cidr());
                    }
                    if (ip == eeGateway) {
                        throw new IllegalArgumentException(what + ": ip " + ee.ip() + " is the eeNetwork gateway");
                    }
                    if (!eeIps.add(ip)) {
                        throw new IllegalArgumentException(what + ": ip " + ee.ip() + " is used by another execution environment");
                    }
                    uniqueVni(vnis, ee.vni(), what);
                    if (Internet.SERVICE_EGRESS_ENI_ID.equals(ee.eni())) {
                        if (!internet) {
                            throw new IllegalArgumentException(what + ": eni " + ee.eni() + " is the service egress, which needs internet: true");
                        }
                    } else if (!enis.containsKey(ee.eni())) {
                        throw new IllegalArgumentException(what + ": eni " + ee.eni() + " is not defined in any vpc");
                    }
                }
            }
            for (int vni : vnis.keySet()) {
                String device = prefix + "vx" + vni;
                if (device.length() > MAX_INTERFACE_NAME) {
                    throw new IllegalArgumentException("prefix '" + prefix + "': interface " + device + " for " + vnis.get(vni)
                            + " would exceed Linux's " + MAX_INTERFACE_NAME + " characters; use a shorter prefix");
                }
            }
        }

        /**
         * What the internet takes (config.fabric.Internet): the names of its two namespaces, the
         * internet router's underlay address, the service egress subnet's VNI; and the IANA VXLAN
         * port, the only one the internet router's tunnel and seal speak.
         */
        private void checkInternet(Set<String> names, Map<Integer, String> underlayIps, Map<Integer, String> vnis) {
            names.add(LabFabric.internetNamespace(""));
            names.add(LabFabric.internetHostsNamespace(""));
            underlayAddress(underlayIps, Internet.ROUTER_VTEP, "the internet router");
            uniqueVni(vnis, Internet.SERVICE_EGRESS_VNI, "the service egress subnet");
            if (underlay.vxlanPort() != VxlanHeader.UDP_PORT) {
                throw new IllegalArgumentException("underlay vxlanPort " + underlay.vxlanPort() + ": the internet's tunnel uses "
                        + VxlanHeader.UDP_PORT + "; use it, or internet: false");
            }
        }

        private void checkVpc(Vpc vpc, Set<String> names, Map<Integer, String> underlayIps, Map<Integer, String> vnis,
                              Set<String> nodeNames, Map<String, Eni> enis, Set<String> subnetIds, Set<String> groupIds) {
            String what = "vpc " + vpc.id();
            Ipv4Cidr vpcRange = Ipv4Cidr.parse(vpc.cidr());
            uniqueName(names, vpc.router().name(), "vpc router");
            underlayAddress(underlayIps, vpc.router().underlayIp(), what + " router " + vpc.router().name());
            nodeReference(nodeNames, vpc.router().node(), what + " router");
            Set<String> acls = new HashSet<>();
            for (NetworkAcl acl : vpc.networkAcls()) {
                if (!acls.add(acl.id())) {
                    throw new IllegalArgumentException("network ACL " + acl.id() + ": id is used twice in " + what);
                }
            }
            if (vpc.networkAcls().stream().filter(NetworkAcl::isDefault).count() > 1) {
                throw new IllegalArgumentException(what + ": more than one network ACL is marked default");
            }
            Set<String> tables = new HashSet<>();
            for (RouteTable table : vpc.routeTables()) {
                if (!tables.add(table.id())) {
                    throw new IllegalArgumentException("route table " + table.id() + ": id is used twice in " + what);
                }
            }
            if (vpc.routeTables().stream().filter(RouteTable::main).count() > 1) {
                throw new IllegalArgumentException(what + ": more than one route table is marked main");
            }
            List<Ipv4Cidr> subnetRanges = new ArrayList<>();
            for (Subnet subnet : vpc.subnets()) {
                if (!subnetIds.add(subnet.id())) {
                    throw new IllegalArgumentException("subnet " + subnet.id() + ": id is used twice");
                }
                Ipv4Cidr range = Ipv4Cidr.parse(subnet.cidr());
                if (!vpcRange.contains(range)) {
                    throw new IllegalArgumentException("subnet " + subnet.id() + ": cidr " + subnet.cidr() + " is outside " + what + " " + vpc.cidr());
                }
                for (Ipv4Cidr other : subnetRanges) {
                    if (other.overlaps(range)) {
                        throw new IllegalArgumentException("subnet " + subnet.id() + ": cidr " + subnet.cidr() + " overlaps " + other + " in " + what);
                    }
                }
                subnetRanges.add(range);
                uniqueVni(vnis, subnet.vni(), "subnet " + subnet.id());
                if (!acls.contains(vpc.networkAclOf(subnet))) {
                    throw new IllegalArgumentException("subnet " + subnet.id() + ": networkAcl " + subnet.networkAcl() + " is not defined in " + what);
                }
                if (!tables.contains(vpc.routeTableOf(subnet))) {
                    throw new IllegalArgumentException("subnet " + subnet.id() + ": routeTable " + subnet.routeTable() + " is not defined in " + what);
                }
            }
            Set<String> groups = new HashSet<>();
            for (SecurityGroup group : vpc.securityGroups()) {
                if (!groupIds.add(group.id())) {
                    throw new IllegalArgumentException("security group " + group.id() + ": id is used twice");
                }
                groups.add(group.id());
            }
            for (SecurityGroup group : vpc.securityGroups()) {
                for (SecurityGroupRule rule : group.egress()) {
                    if (rule.group() != null && !groups.contains(rule.group())) {
                        throw new IllegalArgumentException("security group " + group.id() + ": rule refers to group " + rule.group() + ", not defined in " + what);
                    }
                }
            }
            Set<Integer> addresses = new HashSet<>();
            for (Eni eni : vpc.enis()) {
                if (internet && eni.id().equals(Internet.SERVICE_EGRESS_ENI_ID)) {
                    throw new IllegalArgumentException("eni " + eni.id() + ": id is the service egress's");
                }
                if (enis.put(eni.id(), eni) != null) {
                    throw new IllegalArgumentException("eni " + eni.id() + ": id is used twice");
                }
                subnetAddress(vpc, eni.subnet(), eni.ip(), addresses, "eni " + eni.id());
                for (String group : eni.securityGroups()) {
                    if (!groups.contains(group)) {
                        throw new IllegalArgumentException("eni " + eni.id() + ": security group " + group + " is not defined in " + what);
                    }
                }
            }
            for (Resource resource : vpc.resources()) {
                uniqueName(names, resource.name(), "resource");
                subnetAddress(vpc, resource.subnet(), resource.ip(), addresses, "resource " + resource.name());
                for (String group : resource.securityGroups()) {
                    if (!groups.contains(group)) {
                        throw new IllegalArgumentException("resource " + resource.name() + ": security group " + group + " is not defined in " + what);
                    }
                }
            }
        }

        private static void subnetAddress(Vpc vpc, String subnetId, String ip, Set<Integer> addresses, String what) {
            Subnet subnet = vpc.subnets().stream().filter(s -> s.id().equals(subnetId)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(what + ": subnet " + subnetId + " is not defined in vpc " + vpc.id()));
            if (!Ipv4Cidr.parse(subnet.cidr()).contains(Ipv4Address.parse(ip))) {
                throw new IllegalArgumentException(what + ": ip " + ip + " is outside subnet " + subnet.id() + " " + subnet.cidr());
            }
            if (subnet.isReserved(ip)) {
                throw new IllegalArgumentException(what + ": ip " + ip + " is reserved in subnet " + subnet.id()
                        + " (EC2 keeps the first four addresses and the last)");
            }
            if (!addresses.add(Ipv4Address.parse(ip))) {
                throw new IllegalArgumentException(what + ": ip " + ip + " is already used in vpc " + vpc.id());
            }
        }

        private static void uniqueName(Set<String> names, String name, String what) {
            if (!names.add(name)) {
                throw new IllegalArgumentException(what + " " + name + ": name is used twice (names become namespaces)");
            }
        }

        private void underlayAddress(Map<Integer, String> used, String ip, String what) {
            Ipv4Cidr range = Ipv4Cidr.parse(underlay.cidr());
            int address = Ipv4Address.parse(ip);
            if (!range.contains(address) || address == range.network() || address == range.last()) {
                throw new IllegalArgumentException(what + ": underlayIp " + ip + " is not a host address of underlay " + underlay.cidr());
            }
            String previous = used.put(address, what);
            if (previous != null) {
                throw new IllegalArgumentException(what + ": underlayIp " + ip + " is already used by " + previous);
            }
        }

        private static void uniqueVni(Map<Integer, String> vnis, int vni, String what) {
            String previous = vnis.put(vni, what);
            if (previous != null) {
                throw new IllegalArgumentException(what + ": vni " + vni + " is already used by " + previous);
            }
        }

        private static void nodeReference(Set<String> nodeNames, String node, String what) {
            if (node != null && !nodeNames.contains(node)) {
                throw new IllegalArgumentException(what + ": node " + node + " is not defined in nodes");
            }
        }
    }
}
