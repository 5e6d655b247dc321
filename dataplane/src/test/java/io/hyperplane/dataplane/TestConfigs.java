package io.hyperplane.dataplane;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.NodeSnapshot.Eni;
import io.hyperplane.config.NodeSnapshot.ExecutionEnvironment;
import io.hyperplane.config.NodeSnapshot.Gateway;
import io.hyperplane.config.NodeSnapshot.NatGateway;
import io.hyperplane.config.NodeSnapshot.NetworkAcl;
import io.hyperplane.config.NodeSnapshot.NetworkAclEntry;
import io.hyperplane.config.NodeSnapshot.Route;
import io.hyperplane.config.NodeSnapshot.RouteTable;
import io.hyperplane.config.NodeSnapshot.SecurityGroup;
import io.hyperplane.config.NodeSnapshot.SecurityGroupRule;
import io.hyperplane.config.NodeSnapshot.Subnet;
import io.hyperplane.config.NodeSnapshot.Vpc;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.MacAddress;

import java.util.ArrayList;
import java.util.List;

/** The default lab's topology as a snapshot, with knobs for the ACL and routes. */
public final class TestConfigs {
    public static final int GATEWAY_IP = ip("100.64.0.1");
    public static final long GATEWAY_MAC = MacAddress.parse("02:48:50:00:00:01");
    public static final int HOST = ip("198.18.0.11");
    public static final int VTEP = ip("198.18.0.21");
    public static final int EE1_VNI = 5001;
    public static final int EE2_VNI = 5002;
    public static final int EE1_IP = ip("100.64.0.11");
    public static final int EE2_IP = ip("100.64.0.12");
    public static final long EE1_MAC = MacAddress.parse("02:ee:00:00:00:01");
    public static final long EE2_MAC = MacAddress.parse("02:ee:00:00:00:02");
    public static final int SUBNET1_VNI = 1001;
    public static final int SUBNET2_VNI = 1002;
    public static final int ENI_IP = ip("10.0.1.4");
    public static final long ENI_MAC = MacAddress.parse("02:48:50:00:01:04");
    public static final int RES1 = ip("10.0.1.10");
    public static final long RES1_MAC = MacAddress.parse("02:00:00:00:01:10");
    public static final int RES2 = ip("10.0.2.10");
    public static final int ROUTER1 = ip("10.0.1.1");
    public static final long ROUTER1_MAC = MacAddress.parse("02:00:00:00:01:01");

    /** A second tenant's VPC with the same CIDRs, its ENI at the same address. */
    public static final int OTHER_SUBNET_VNI = 2001;
    public static final int OTHER_VTEP = ip("198.19.0.2");
    public static final int OTHER_EE_VNI = 6001;
    public static final int OTHER_EE_IP = ip("100.64.0.21");
    public static final long OTHER_EE_MAC = MacAddress.parse("02:ee:00:00:00:21");
    public static final long OTHER_ENI_MAC = MacAddress.parse("02:48:50:00:02:04");
    public static final long OTHER_RES1_MAC = MacAddress.parse("02:00:00:00:02:10");

    /** The way out (DESIGN.md §11): a public subnet 10.0.0.0/24 holding the NAT gateway, and the service egress. */
    public static final int PUBLIC_VNI = 1003;
    public static final int PUBLIC_ROUTER = ip("10.0.0.1");
    public static final long PUBLIC_ROUTER_MAC = MacAddress.parse("02:00:00:00:00:01");
    public static final int PUBLIC_HOST = ip("10.0.0.20");
    public static final long PUBLIC_HOST_MAC = MacAddress.parse("02:00:00:00:00:20");
    public static final String NAT_ID = "nat-0123456789abcdef0";
    public static final int NAT_IP = ip("10.0.0.5");
    public static final long NAT_MAC = MacAddress.parse("02:4e:00:00:00:05");
    public static final int INTERNET_HOST = ip(Internet.HOST);
    public static final int EGRESS_VNI = Internet.SERVICE_EGRESS_VNI;
    public static final int EGRESS_VTEP = ip(Internet.ROUTER_VTEP);
    public static final int EGRESS_IP = ip(Internet.SERVICE_EGRESS_ADDRESS);
    public static final long EGRESS_MAC = MacAddress.parse(Internet.SERVICE_EGRESS_MAC);
    public static final int EGRESS_ROUTER = ip(Internet.SERVICE_EGRESS_ROUTER);
    public static final long EGRESS_ROUTER_MAC = MacAddress.parse("02:00:00:c0:00:01");
    public static final int EE3_VNI = 5003;
    public static final int EE3_IP = ip("100.64.0.13");
    public static final long EE3_MAC = MacAddress.parse("02:ee:00:00:00:03");

    private TestConfigs() {
    }

    public static int ip(String text) {
        return Ipv4Address.parse(text);
    }

    public static NetworkAclEntry allowAll(int rule, boolean egress) {
        return new NetworkAclEntry(rule, egress, "-1", "allow", "0.0.0.0/0", 0, 0, -1, -1);
    }

    public static List<NetworkAclEntry> defaultAcl() {
        return List.of(allowAll(100, true), allowAll(100, false));
    }

    public static List<Route> defaultRoutes() {
        return List.of(new Route("10.0.0.0/16", "local"), new Route("10.0.9.0/24", "blackhole"));
    }

    public static NodeSnapshot snapshot(long version) {
        return snapshot(version, defaultAcl(), defaultRoutes());
    }

    public static NodeSnapshot snapshot(long version, List<NetworkAclEntry> acl, List<Route> routes) {
        return snapshot(version, acl, routes, "198.18.0.11", "198.18.0.21");
    }

    /** The same topology with other underlay addresses for the worker host and the VPC's VTEP. */
    public static NodeSnapshot snapshot(long version, List<NetworkAclEntry> acl, List<Route> routes, String host, String vtep) {
        SecurityGroup lambda = new SecurityGroup("sg-lambda", List.of(
                new SecurityGroupRule("tcp", 80, 80, "10.0.0.0/16", null),
                new SecurityGroupRule("tcp", 5432, 5432, "10.0.0.0/16", null),
                new SecurityGroupRule("udp", 53, 53, "10.0.0.0/16", null),
                new SecurityGroupRule("icmp", -1, -1, "10.0.0.0/16", null),
                new SecurityGroupRule("tcp", 6379, 6379, null, "sg-cache")), List.of());
        SecurityGroup cache = new SecurityGroup("sg-cache", List.of(), List.of("10.0.2.30"));
        return new NodeSnapshot(version, new Gateway("100.64.0.1", "02:48:50:00:00:01"),
                List.of(new Vpc("vpc-1", "10.0.0.0/16")),
                List.of(new Subnet("subnet-1", "vpc-1", "10.0.1.0/24", SUBNET1_VNI, vtep, "acl-1", "rtb-1"),
                        new Subnet("subnet-2", "vpc-1", "10.0.2.0/24", SUBNET2_VNI, vtep, "acl-1", "rtb-1")),
                List.of(lambda, cache),
                List.of(new NetworkAcl("acl-1", acl)),
                List.of(new RouteTable("rtb-1", routes)),
                List.of(new Eni("eni-1", "10.0.1.4", "02:48:50:00:01:04", "subnet-1", List.of("sg-lambda", "sg-cache"))),
                List.of(new ExecutionEnvironment("ee-1", EE1_VNI, host, "100.64.0.11", "02:ee:00:00:00:01", "eni-1"),
                        new ExecutionEnvironment("ee-2", EE2_VNI, host, "100.64.0.12", "02:ee:00:00:00:02", "eni-1")));
    }

    /**
     * The default topology plus a second VPC of another account with the same 10.0.0.0/16 and
     * 10.0.1.0/24, whose ENI is also 10.0.1.4 (another MAC, subnet VNI 2001, its own VTEP), with
     * one EE of its own (VNI 6001) on it.
     */
    public static NodeSnapshot overlapping(long version) {
        NodeSnapshot one = snapshot(version);
        List<Vpc> vpcs = new ArrayList<>(one.vpcs());
        vpcs.add(new Vpc("vpc-2", "10.0.0.0/16"));
        List<Subnet> subnets = new ArrayList<>(one.subnets());
        subnets.add(new Subnet("subnet-21", "vpc-2", "10.0.1.0/24", OTHER_SUBNET_VNI, "198.19.0.2", "acl-2", "rtb-2"));
        List<SecurityGroup> groups = new ArrayList<>(one.securityGroups());
        groups.add(new SecurityGroup("sg-other", List.of(new SecurityGroupRule("-1", 0, 0, "0.0.0.0/0", null)), List.of()));
        List<NetworkAcl> acls = new ArrayList<>(one.networkAcls());
        acls.add(new NetworkAcl("acl-2", defaultAcl()));
        List<RouteTable> tables = new ArrayList<>(one.routeTables());
        tables.add(new RouteTable("rtb-2", List.of(new Route("10.0.0.0/16", "local"))));
        List<Eni> enis = new ArrayList<>(one.enis());
        enis.add(new Eni("eni-2", "10.0.1.4", "02:48:50:00:02:04", "subnet-21", List.of("sg-other")));
        List<ExecutionEnvironment> ees = new ArrayList<>(one.executionEnvironments());
        ees.add(new ExecutionEnvironment("ee-21", OTHER_EE_VNI, "198.18.0.11", "100.64.0.21", "02:ee:00:00:00:21", "eni-2"));
        return new NodeSnapshot(version, one.eeGateway(), vpcs, subnets, groups, acls, tables, enis, ees);
    }

    /**
     * The default topology with a way out: the private subnets route by {@code privateRoutes}
     * (the Lambda ENI's too), the public subnet 10.0.0.0/24 (VNI 1003) by {@code publicRoutes}
     * and holds the NAT gateway 10.0.0.5 ({@link #NAT_ID}); its ACL is {@code publicAcl}. The
     * service egress (an ENI of kind service-egress at 192.0.2.10, VNI 1000, with EE ee-3 on it)
     * routes 0.0.0.0/0 to the service's internet gateway.
     */
    public static NodeSnapshot wayOut(long version, List<Route> privateRoutes, List<Route> publicRoutes, List<NetworkAclEntry> publicAcl) {
        return wayOut(version, privateRoutes, publicRoutes, publicAcl, "198.18.0.11", "198.18.0.21");
    }

    /** {@link #wayOut} with other underlay addresses for the worker host and the VPC's VTEP. */
    public static NodeSnapshot wayOut(long version, List<Route> privateRoutes, List<Route> publicRoutes, List<NetworkAclEntry> publicAcl,
                                      String host, String vtep) {
        NodeSnapshot one = snapshot(version, defaultAcl(), privateRoutes, host, vtep);
        List<Vpc> vpcs = new ArrayList<>(one.vpcs());
        vpcs.add(new Vpc(Internet.SERVICE_EGRESS_VPC_ID, Internet.SERVICE_EGRESS_SUBNET.toString()));
        List<Subnet> subnets = new ArrayList<>(one.subnets());
        subnets.add(new Subnet("subnet-pub", "vpc-1", "10.0.0.0/24", PUBLIC_VNI, vtep, "acl-pub", "rtb-pub"));
        subnets.add(new Subnet(Internet.SERVICE_EGRESS_SUBNET_ID, Internet.SERVICE_EGRESS_VPC_ID, Internet.SERVICE_EGRESS_SUBNET.toString(),
                EGRESS_VNI, Internet.ROUTER_VTEP, Internet.SERVICE_EGRESS_ACL_ID, Internet.SERVICE_EGRESS_ROUTE_TABLE_ID));
        // The function's group also lets it call web servers anywhere, as a function behind a NAT gateway does.
        List<SecurityGroup> groups = new ArrayList<>(one.securityGroups().stream()
                .map(g -> !g.id().equals("sg-lambda") ? g : new SecurityGroup(g.id(), concat(g.egress(),
                        new SecurityGroupRule("tcp", 80, 80, "0.0.0.0/0", null)), g.members()))
                .toList());
        groups.add(new SecurityGroup(Internet.SERVICE_EGRESS_GROUP_ID, List.of(new SecurityGroupRule("-1", 0, 0, "0.0.0.0/0", null)), List.of()));
        List<NetworkAcl> acls = new ArrayList<>(one.networkAcls());
        acls.add(new NetworkAcl("acl-pub", publicAcl));
        acls.add(new NetworkAcl(Internet.SERVICE_EGRESS_ACL_ID, defaultAcl()));
        List<RouteTable> tables = new ArrayList<>(one.routeTables());
        tables.add(new RouteTable("rtb-pub", publicRoutes));
        tables.add(new RouteTable(Internet.SERVICE_EGRESS_ROUTE_TABLE_ID, List.of(new Route(Internet.SERVICE_EGRESS_SUBNET.toString(), "local"),
                new Route("0.0.0.0/0", Internet.SERVICE_INTERNET_GATEWAY_ID))));
        List<Eni> enis = new ArrayList<>(one.enis());
        enis.add(new Eni(Internet.SERVICE_EGRESS_ENI_ID, Internet.SERVICE_EGRESS_ADDRESS, Internet.SERVICE_EGRESS_MAC,
                Internet.SERVICE_EGRESS_SUBNET_ID, List.of(Internet.SERVICE_EGRESS_GROUP_ID), Eni.SERVICE_EGRESS));
        List<ExecutionEnvironment> ees = new ArrayList<>(one.executionEnvironments());
        ees.add(new ExecutionEnvironment("ee-3", EE3_VNI, host, "100.64.0.13", "02:ee:00:00:00:03", Internet.SERVICE_EGRESS_ENI_ID));
        return new NodeSnapshot(version, one.eeGateway(), vpcs, subnets, groups, acls, tables, enis, ees,
                List.of(new NatGateway(NAT_ID, "10.0.0.5", "02:4e:00:00:00:05", "subnet-pub")));
    }

    /** {@link #wayOut} as AWS's wizard builds it: private subnets to the NAT gateway, the public one to an internet gateway. */
    public static NodeSnapshot wayOut(long version) {
        return wayOut(version, privateRoutesToNat(), publicRoutesToIgw(), defaultAcl());
    }

    private static <T> List<T> concat(List<T> list, T item) {
        List<T> out = new ArrayList<>(list);
        out.add(item);
        return out;
    }

    public static List<Route> privateRoutesToNat() {
        return List.of(new Route("10.0.0.0/16", "local"), new Route("0.0.0.0/0", NAT_ID));
    }

    public static List<Route> publicRoutesToIgw() {
        return List.of(new Route("10.0.0.0/16", "local"), new Route("0.0.0.0/0", "igw-0123456789abcdef0"));
    }
}
