package io.hyperplane.control.nodes;

import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fabric.ServiceEgressNetwork;

import java.util.ArrayList;
import java.util.List;

/**
 * The service-owned egress that functions without a VpcConfig leave by (DESIGN.md §11), as every
 * published node snapshot carries it: {@link ServiceEgressNetwork}'s VPC, subnet, ENI, group, ACL
 * and route table. None of it is in the store: it is the same in every snapshot, whatever the
 * tenants configure.
 * <p>
 * Its environments are the worker's ordinary tunnelled environments, bound to
 * {@link Internet#SERVICE_EGRESS_ENI_ID}. What keeps them out of every VPC, the underlay and the
 * other private ranges is the node, which forwards from a service-egress ENI only to public
 * addresses ({@link Internet#isPublic}), not the permissive policy here.
 */
public final class ServiceEgress {
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
        return new NodeSnapshot(snapshot.version(), snapshot.eeGateway(), first(ServiceEgressNetwork.VPC, snapshot.vpcs()),
                first(ServiceEgressNetwork.SUBNET, snapshot.subnets()), first(ServiceEgressNetwork.GROUP, snapshot.securityGroups()),
                first(ServiceEgressNetwork.ACL, snapshot.networkAcls()), first(ServiceEgressNetwork.ROUTES, snapshot.routeTables()),
                first(ServiceEgressNetwork.ENI, snapshot.enis()), EnvironmentsDelta.environments(snapshot.executionEnvironments(), environments, List.of()),
                snapshot.natGateways());
    }

    private static <T> List<T> first(T item, List<T> rest) {
        List<T> all = new ArrayList<>(rest.size() + 1);
        all.add(item);
        all.addAll(rest);
        return all;
    }
}
