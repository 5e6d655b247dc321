package io.hyperplane.config.fabric;

import io.hyperplane.config.fleet.FleetPlan;

import java.util.List;
import java.util.Objects;

/**
 * The networks the control plane wants to exist, for a {@link Fabric} to make real: every VPC with
 * its subnets (their network ACLs and route tables), its live instances (with their security
 * groups' rules, references to other groups already resolved to the members' addresses), its
 * internet gateway and public addresses, and its DNS. Whole state, not a diff: applying it twice
 * changes nothing the second time.
 *
 * @param forwarderNodes every registered node's unicast underlay address: what routers accept
 *                       tunnelled traffic from
 * @param fleet          the fleet's plan: routers send their subnets' tunnels to its anycast address,
 *                       spread over its members, and replies by port block to the block's owner
 */
public record FabricState(List<VpcNetwork> vpcs, List<String> forwarderNodes, FleetPlan fleet) {
    public FabricState {
        vpcs = List.copyOf(vpcs);
        forwarderNodes = List.copyOf(forwarderNodes);
        Objects.requireNonNull(fleet, "fleet");
    }

    /** A state whose plan is that of {@code forwarderNodes}, every one in service (tests of the VPC side). */
    public FabricState(List<VpcNetwork> vpcs, List<String> forwarderNodes) {
        this(vpcs, forwarderNodes, FleetPlan.inService(forwarderNodes));
    }

    /**
     * A VPC: its block, the underlay address its router terminates the subnets' tunnels on (toward
     * every forwarder node in {@link #forwarderNodes()}), its subnets and live instances.
     *
     * @param dns             AmazonProvidedDNS at the VPC's base address + 2 (DESIGN.md §11)
     * @param internetGateway the attached internet gateway's id, or null: only with one does
     *                        anything in the VPC reach the internet, and only the VPC's DNS forwards
     *                        the internet's names
     * @param publicAddresses the one-to-one mappings the internet gateway makes, both ways: instances'
     *                        public IPs and Elastic IPs, and public NAT gateways' Elastic IPs (empty
     *                        when no gateway is attached: nothing to map)
     */
    public record VpcNetwork(String id, String cidr, String vtepIp, List<SubnetNetwork> subnets, List<InstanceHost> instances,
                             Dns dns, String internetGateway, List<PublicAddress> publicAddresses) {
        public VpcNetwork {
            subnets = List.copyOf(subnets);
            instances = List.copyOf(instances);
            Objects.requireNonNull(dns, "dns");
            publicAddresses = List.copyOf(publicAddresses);
        }

        /** A VPC as it was before the way out: DNS on, no gateway, no public addresses. */
        public VpcNetwork(String id, String cidr, String vtepIp, List<SubnetNetwork> subnets, List<InstanceHost> instances) {
            this(id, cidr, vtepIp, subnets, instances, Dns.DEFAULT, null, List.of());
        }
    }

    /**
     * The VPC's DNS attributes (ModifyVpcAttribute). With {@code support}, the resolver at base + 2
     * answers instances' private names ({@code ip-10-0-1-4.ec2.internal}: {@code privateDomain} is
     * "ec2.internal" in us-east-1, "REGION.compute.internal" elsewhere) and, when the VPC has an
     * internet gateway, the internet's names; with {@code hostnames} as well, instances with a public
     * address have public names too ({@code ec2-198-51-100-5.compute-1.amazonaws.com}). Without
     * {@code support}, nothing answers at base + 2.
     */
    public record Dns(boolean support, boolean hostnames, String privateDomain) {
        public static final Dns DEFAULT = new Dns(true, false, "ec2.internal");

        public Dns {
            Objects.requireNonNull(privateDomain, "privateDomain");
        }
    }

    /** A public address the internet gateway maps to {@code privateIp}, one to one. */
    public record PublicAddress(String privateIp, String publicIp) {
        public PublicAddress {
            Objects.requireNonNull(privateIp, "privateIp");
            Objects.requireNonNull(publicIp, "publicIp");
        }
    }

    /**
     * A subnet: its block, its tunnel VNI, its router address (the first host address), its ACL,
     * and its route table's routes (the VPC's own block is always a {@link RouteTarget#LOCAL} route).
     */
    public record SubnetNetwork(String id, String cidr, int vni, String gatewayIp, List<AclRule> aclIngress, List<AclRule> aclEgress,
                                List<Route> routes) {
        public SubnetNetwork {
            aclIngress = List.copyOf(aclIngress);
            aclEgress = List.copyOf(aclEgress);
            routes = List.copyOf(routes);
        }

        /** A subnet whose route table has only its VPC's local route (given no routes: the router routes within the VPC). */
        public SubnetNetwork(String id, String cidr, int vni, String gatewayIp, List<AclRule> aclIngress, List<AclRule> aclEgress) {
            this(id, cidr, vni, gatewayIp, aclIngress, aclEgress, List.of());
        }
    }

    /** Where a route sends what matches it. */
    public enum RouteTarget {
        /** Within the VPC. */
        LOCAL,
        /** Dropped (a blackhole route, or one whose gateway is gone, detached or not available: AWS shows it "blackhole"). */
        BLACKHOLE,
        /** Out through the VPC's internet gateway, for sources with a public address; others are dropped. */
        INTERNET_GATEWAY,
        /** To a NAT gateway: {@link Route#nextHopIp()} is its private address, in one of the VPC's subnets. */
        NAT_GATEWAY
    }

    /** One route of a subnet's route table; {@code nextHopIp} only for {@link RouteTarget#NAT_GATEWAY}. */
    public record Route(String destination, RouteTarget target, String nextHopIp) {
        public Route {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(target, "target");
            if ((target == RouteTarget.NAT_GATEWAY) != (nextHopIp != null)) {
                throw new IllegalArgumentException("route " + destination + ": a next hop with NAT_GATEWAY and only then");
            }
        }
    }

    /** One numbered ACL rule; protocol "-1" (all) or an IANA number as text; ports -1 when not applicable. */
    public record AclRule(int number, String protocol, boolean allow, String cidr, int fromPort, int toPort) {
    }

    /** An instance: where it is, what it runs at boot, and what its security groups let in and out. */
    public record InstanceHost(String id, String subnetId, String ip, int prefixLength, String gatewayIp, String userData,
                               List<Permission> ingress, List<Permission> egress) {
        public InstanceHost {
            ingress = List.copyOf(ingress);
            egress = List.copyOf(egress);
        }
    }

    /** An allow rule: protocol "tcp", "udp", "icmp", "-1" or a number; port range (ICMP: type/code); peers. */
    public record Permission(String protocol, int fromPort, int toPort, List<String> cidrs) {
        public Permission {
            cidrs = List.copyOf(cidrs);
        }
    }
}
