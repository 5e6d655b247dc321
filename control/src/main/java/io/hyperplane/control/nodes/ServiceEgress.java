package io.hyperplane.control.nodes;

import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;

import java.util.ArrayList;
import java.util.List;

/**
 * The service-owned egress that functions without a VpcConfig leave by (DESIGN.md §11), as every
 * published node snapshot carries it: a VPC and subnet of the service's own (192.0.2.0/24, VNI
 * 1000, whose far end is the internet router's VTEP), one ENI of kind
 * {@link NodeSnapshot.Eni#SERVICE_EGRESS} at the egress address, a group and an ACL that allow
 * everything, and a route table whose default route is the service's internet gateway. None of it
 * is in the store: it is the same in every snapshot, whatever the tenants configure.
 * <p>
 * Its environments are the worker's ordinary tunnelled environments, bound to
 * {@link Internet#SERVICE_EGRESS_ENI_ID}. What keeps them out of every VPC, the underlay and the
 * other private ranges is the node, which forwards from a service-egress ENI only to public
 * addresses ({@link Internet#isPublic}), not the permissive policy here.
 */
public final class ServiceEgress {
    /** EC2's numbering: the rule a default network ACL allows everything with. */
    private static final int ALLOW_ALL_RULE = 100;

    static final NodeSnapshot.Vpc VPC = new NodeSnapshot.Vpc(Internet.SERVICE_EGRESS_VPC_ID, Internet.SERVICE_EGRESS_SUBNET.toString());
    static final NodeSnapshot.Subnet SUBNET = new NodeSnapshot.Subnet(Internet.SERVICE_EGRESS_SUBNET_ID, Internet.SERVICE_EGRESS_VPC_ID,
            Internet.SERVICE_EGRESS_SUBNET.toString(), Internet.SERVICE_EGRESS_VNI, Internet.ROUTER_VTEP, Internet.SERVICE_EGRESS_ACL_ID,
            Internet.SERVICE_EGRESS_ROUTE_TABLE_ID);
    static final NodeSnapshot.NetworkAcl ACL = new NodeSnapshot.NetworkAcl(Internet.SERVICE_EGRESS_ACL_ID, List.of(
            new NodeSnapshot.NetworkAclEntry(ALLOW_ALL_RULE, true, "-1", "allow", "0.0.0.0/0", 0, 65535, -1, -1),
            new NodeSnapshot.NetworkAclEntry(ALLOW_ALL_RULE, false, "-1", "allow", "0.0.0.0/0", 0, 65535, -1, -1)));
    /** Every route table has its local route (the service's resolver is on the subnet); everything else goes to the internet. */
    static final NodeSnapshot.RouteTable ROUTES = new NodeSnapshot.RouteTable(Internet.SERVICE_EGRESS_ROUTE_TABLE_ID, List.of(
            new NodeSnapshot.Route(Internet.SERVICE_EGRESS_SUBNET.toString(), "local"),
            new NodeSnapshot.Route("0.0.0.0/0", Internet.SERVICE_INTERNET_GATEWAY_ID)));
    static final NodeSnapshot.SecurityGroup GROUP = new NodeSnapshot.SecurityGroup(Internet.SERVICE_EGRESS_GROUP_ID,
            List.of(new NodeSnapshot.SecurityGroupRule("-1", -1, -1, "0.0.0.0/0", null)), List.of(Internet.SERVICE_EGRESS_ADDRESS));
    static final NodeSnapshot.Eni ENI = new NodeSnapshot.Eni(Internet.SERVICE_EGRESS_ENI_ID, Internet.SERVICE_EGRESS_ADDRESS,
            Internet.SERVICE_EGRESS_MAC, Internet.SERVICE_EGRESS_SUBNET_ID, List.of(Internet.SERVICE_EGRESS_GROUP_ID), NodeSnapshot.Eni.SERVICE_EGRESS);

    private ServiceEgress() {
    }

    /** True for the egress's ENI: environments bound to it belong in the snapshot though no store row is that ENI. */
    public static boolean isEgress(String eniId) {
        return Internet.SERVICE_EGRESS_ENI_ID.equals(eniId);
    }

    /**
     * {@code snapshot} with the egress's resources first in each list and {@code environments} (bound to
     * the egress, admitted with the snapshot's own) among its own, in the order an environments delta
     * keeps them (so a rebuild finds the same content the deltas made), validated again.
     */
    static NodeSnapshot addTo(NodeSnapshot snapshot, List<NodeSnapshot.ExecutionEnvironment> environments) {
        return new NodeSnapshot(snapshot.version(), snapshot.eeGateway(), first(VPC, snapshot.vpcs()), first(SUBNET, snapshot.subnets()),
                first(GROUP, snapshot.securityGroups()), first(ACL, snapshot.networkAcls()), first(ROUTES, snapshot.routeTables()),
                first(ENI, snapshot.enis()), EnvironmentsDelta.environments(snapshot.executionEnvironments(), environments, List.of()),
                snapshot.natGateways());
    }

    private static <T> List<T> first(T item, List<T> rest) {
        List<T> all = new ArrayList<>(rest.size() + 1);
        all.add(item);
        all.addAll(rest);
        return all;
    }
}
