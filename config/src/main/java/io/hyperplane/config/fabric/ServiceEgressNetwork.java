package io.hyperplane.config.fabric;

import io.hyperplane.config.NodeSnapshot;

import java.util.List;

/**
 * The service-owned egress as a node snapshot carries it (DESIGN.md §11): a VPC and subnet of the
 * service's own ({@link Internet#SERVICE_EGRESS_SUBNET}, VNI {@link Internet#SERVICE_EGRESS_VNI},
 * whose far end is the internet router's VTEP), one ENI of kind
 * {@link NodeSnapshot.Eni#SERVICE_EGRESS} at the egress address, a group and an ACL that allow
 * everything, and a route table whose default route is the service's internet gateway. The same in
 * every snapshot, whatever the tenants configure: the control plane adds it to each one it
 * publishes, and {@code hyperplane lab up} to the lab's when the lab has the internet.
 * <p>
 * What keeps the environments bound to the ENI out of every VPC, the underlay and the other private
 * ranges is the node, which forwards from a service-egress ENI only to public addresses
 * ({@link Internet#isPublic}), not the permissive policy here.
 */
public final class ServiceEgressNetwork {
    /** EC2's numbering: the rule a default network ACL allows everything with. */
    private static final int ALLOW_ALL_RULE = 100;

    public static final NodeSnapshot.Vpc VPC = new NodeSnapshot.Vpc(Internet.SERVICE_EGRESS_VPC_ID, Internet.SERVICE_EGRESS_SUBNET.toString());
    public static final NodeSnapshot.Subnet SUBNET = new NodeSnapshot.Subnet(Internet.SERVICE_EGRESS_SUBNET_ID, Internet.SERVICE_EGRESS_VPC_ID,
            Internet.SERVICE_EGRESS_SUBNET.toString(), Internet.SERVICE_EGRESS_VNI, Internet.ROUTER_VTEP, Internet.SERVICE_EGRESS_ACL_ID,
            Internet.SERVICE_EGRESS_ROUTE_TABLE_ID);
    public static final NodeSnapshot.NetworkAcl ACL = new NodeSnapshot.NetworkAcl(Internet.SERVICE_EGRESS_ACL_ID, List.of(
            new NodeSnapshot.NetworkAclEntry(ALLOW_ALL_RULE, true, "-1", "allow", "0.0.0.0/0", 0, 65535, -1, -1),
            new NodeSnapshot.NetworkAclEntry(ALLOW_ALL_RULE, false, "-1", "allow", "0.0.0.0/0", 0, 65535, -1, -1)));
    /** Every route table has its local route (the service's resolver is on the subnet); everything else goes to the internet. */
    public static final NodeSnapshot.RouteTable ROUTES = new NodeSnapshot.RouteTable(Internet.SERVICE_EGRESS_ROUTE_TABLE_ID, List.of(
            new NodeSnapshot.Route(Internet.SERVICE_EGRESS_SUBNET.toString(), "local"),
            new NodeSnapshot.Route("0.0.0.0/0", Internet.SERVICE_INTERNET_GATEWAY_ID)));
    public static final NodeSnapshot.SecurityGroup GROUP = new NodeSnapshot.SecurityGroup(Internet.SERVICE_EGRESS_GROUP_ID,
            List.of(new NodeSnapshot.SecurityGroupRule("-1", -1, -1, "0.0.0.0/0", null)), List.of(Internet.SERVICE_EGRESS_ADDRESS));
    public static final NodeSnapshot.Eni ENI = new NodeSnapshot.Eni(Internet.SERVICE_EGRESS_ENI_ID, Internet.SERVICE_EGRESS_ADDRESS,
            Internet.SERVICE_EGRESS_MAC, Internet.SERVICE_EGRESS_SUBNET_ID, List.of(Internet.SERVICE_EGRESS_GROUP_ID), NodeSnapshot.Eni.SERVICE_EGRESS);

    private ServiceEgressNetwork() {
    }
}
