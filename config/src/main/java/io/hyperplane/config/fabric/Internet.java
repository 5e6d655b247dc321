package io.hyperplane.config.fabric;

import io.hyperplane.packet.Ipv4Cidr;

import java.util.List;

/**
 * The way out (DESIGN.md §11): the public addresses of the simulated internet, and the
 * service-owned egress that functions without a VpcConfig leave by. Every address here is one of
 * IANA's documentation ranges (RFC 5737), never routed on the real internet, so nothing sent to
 * them can leave the machine by accident.
 * <pre>
 *   198.51.100.0/24  Elastic IPs and instances' public IPs (AllocateAddress, MapPublicIpOnLaunch)
 *   203.0.113.0/24   internet hosts: 203.0.113.10 serves GET /whoami on 80, TCP echo on 7, UDP echo on 53;
 *                    203.0.113.53 is the internet's DNS server, authoritative for internet.test
 *   192.0.2.0/24     the service egress: a subnet of the internet router (VNI 1000, reached by the
 *                    forwarder nodes over the underlay at 198.18.255.254); 192.0.2.1 is its router,
 *                    192.0.2.2 the service's resolver, 192.0.2.10 the egress address (a "service-egress" ENI)
 * </pre>
 */
public final class Internet {
    public static final Ipv4Cidr ELASTIC_IPS = Ipv4Cidr.parse("198.51.100.0/24");
    public static final Ipv4Cidr HOSTS = Ipv4Cidr.parse("203.0.113.0/24");
    /** The internet router's address on the hosts' network. */
    public static final String HOSTS_ROUTER = "203.0.113.1";
    /** The first internet host: GET /whoami on 80 (answers the peer address it sees), TCP echo on 7, UDP echo on 53. */
    public static final String HOST = "203.0.113.10";
    /** The internet's DNS server, authoritative for {@link #ZONE}. */
    public static final String DNS = "203.0.113.53";
    public static final String ZONE = "internet.test";
    /** The name of {@link #HOST} in {@link #ZONE}. */
    public static final String WHOAMI_NAME = "whoami.internet.test";

    public static final Ipv4Cidr SERVICE_EGRESS_SUBNET = Ipv4Cidr.parse("192.0.2.0/24");
    /** The internet router's address on the service egress subnet (the subnet's router, .1 as in AWS). */
    public static final String SERVICE_EGRESS_ROUTER = "192.0.2.1";
    /** The service's resolver, for functions without a VpcConfig: answers {@link #ZONE} through {@link #DNS}. */
    public static final String SERVICE_RESOLVER = "192.0.2.2";
    /** The public address every function without a VpcConfig leaves by. */
    public static final String SERVICE_EGRESS_ADDRESS = "192.0.2.10";
    public static final String SERVICE_EGRESS_MAC = "02:48:50:ff:00:0a";
    /** Below the subnet VNI pool (1,001-99,999), so it never meets a tenant's. */
    public static final int SERVICE_EGRESS_VNI = 1000;
    /** The internet router's underlay address: the top of the lower half of 198.18.0.0/15, where nodes and hosts live. */
    public static final String ROUTER_VTEP = "198.18.255.254";
    /** Ids the node snapshot gives the service egress's pseudo-resources. */
    public static final String SERVICE_EGRESS_VPC_ID = "vpc-hyperplane-egress";
    public static final String SERVICE_EGRESS_SUBNET_ID = "subnet-hyperplane-egress";
    public static final String SERVICE_EGRESS_ENI_ID = "eni-hyperplane-egress";
    public static final String SERVICE_EGRESS_GROUP_ID = "sg-hyperplane-egress";
    public static final String SERVICE_EGRESS_ACL_ID = "acl-hyperplane-egress";
    public static final String SERVICE_EGRESS_ROUTE_TABLE_ID = "rtb-hyperplane-egress";
    /** The route target the service egress's default route names (an internet gateway of the service's). */
    public static final String SERVICE_INTERNET_GATEWAY_ID = "igw-hyperplane";

    /**
     * What the service egress never forwards to, whatever else it allows (DESIGN.md §11): every
     * private, shared, loopback, link-local, system, multicast and reserved range, so that a
     * function without a VpcConfig reaches no VPC (whatever CIDR it uses), no underlay, no
     * environment, nothing but the public internet.
     */
    public static final List<Ipv4Cidr> NOT_PUBLIC = List.of(
            Ipv4Cidr.parse("0.0.0.0/8"),
            Ipv4Cidr.parse("10.0.0.0/8"),
            Ipv4Cidr.parse("100.64.0.0/10"),
            Ipv4Cidr.parse("127.0.0.0/8"),
            Ipv4Cidr.parse("169.254.0.0/16"),
            Ipv4Cidr.parse("172.16.0.0/12"),
            Ipv4Cidr.parse("192.0.0.0/24"),
            Ipv4Cidr.parse("192.168.0.0/16"),
            Ipv4Cidr.parse("198.18.0.0/15"),
            Ipv4Cidr.parse("224.0.0.0/4"),
            Ipv4Cidr.parse("240.0.0.0/4"));

    private Internet() {
    }

    /** True when {@code address} is in none of {@link #NOT_PUBLIC}. */
    public static boolean isPublic(int address) {
        for (Ipv4Cidr range : NOT_PUBLIC) {
            if (range.contains(address)) {
                return false;
            }
        }
        return true;
    }
}
