package io.hyperplane.worker;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.linux.underlay.ResilientNexthopGroup;
import io.hyperplane.linux.underlay.SteeredGroups;
import io.hyperplane.linux.underlay.UdpLivenessProber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The worker host's way to the fleet (docs/fleet.md): in the host namespace, the fleet's anycast
 * address through one resilient nexthop group, one slot per plan member (nexthop id from its
 * index), steered by a prober of the members' unicast addresses: a member that is down or out of
 * service has its slot re-pointed at its backup ({@link SteeredGroups}). Environments' VXLAN
 * devices go to the anycast address ({@link EnvironmentNetwork#prepare}), so each inner flow
 * hashes to one member.
 * <p>Made at the first plan that has a member; a plan older than the last one applied is ignored.
 */
final class HostFleet implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HostFleet.class);
    /** Ids 100..165 in the host namespace: clear of anything else the worker or an operator makes there (none use nexthop ids). */
    static final int GROUP_ID = 100;
    /** The device toward the nodes, in the host namespace (EnvironmentNetwork's VXLAN devices were made on it before the plan). */
    static final String UNDERLAY_DEVICE = "hp-ul0";

    private final WorkerSettings settings;
    private final UdpLivenessProber.Settings probing;
    private ResilientNexthopGroup group;
    private SteeredGroups steering;
    private long version = -1;

    HostFleet(WorkerSettings settings, UdpLivenessProber.Settings probing) {
        this.settings = settings;
        this.probing = probing;
    }

    /** Follows {@code plan}; true when the host sends to the anycast address (some member is in service). */
    synchronized boolean apply(FleetPlan plan) throws IOException {
        if (plan.version() < version || plan.members().isEmpty() && steering == null) {
            return steering != null && inService(plan);
        }
        version = plan.version();
        if (steering == null) {
            group = ResilientNexthopGroup.open(ResilientNexthopGroup.Settings.of(settings.hostNamespace(), UNDERLAY_DEVICE,
                    Inet4Address.ofLiteral(plan.anycast()), GROUP_ID));
            steering = SteeredGroups.probed("worker host " + settings.hostNamespace(), settings.hostNamespace(),
                    new InetSocketAddress(Inet4Address.ofLiteral(settings.underlayIp()), 0), NodeHeartbeat.DEFAULT_PORT, probing);
            steering.add(group);
            LOG.info("worker host {}: environments tunnel to the fleet's anycast {} (plan {})", settings.hostNamespace(), plan.anycast(),
                    plan.version());
        }
        steering.members(members(plan));
        return inService(plan);
    }

    private static boolean inService(FleetPlan plan) {
        return plan.members().stream().anyMatch(FleetPlan.Member::inService);
    }

    static List<SteeredGroups.Member> members(FleetPlan plan) {
        List<SteeredGroups.Member> out = new ArrayList<>(plan.members().size());
        for (FleetPlan.Member m : plan.members()) {
            out.add(new SteeredGroups.Member(m.index(), Inet4Address.ofLiteral(m.underlayIp()), m.inService(), m.backup()));
        }
        return out;
    }

    /** Stops probing and removes the group and its route: environments of this worker are gone by now. */
    @Override
    public synchronized void close() throws IOException {
        if (steering != null) {
            steering.close();
            group.close();
            steering = null;
        }
    }
}
