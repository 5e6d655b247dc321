package io.hyperplane.control.fleet;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.control.fabric.ForwarderNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The fleet's plan (docs/fleet.md) as the control plane publishes it: every registered node
 * ({@link ForwarderNodes}, with the index it keeps for its name) is a candidate, and is in service
 * when it is live (heartbeats within the registry's liveness), runs a configuration, and says it
 * is ready (not resynchronising). Blocks and backups are {@link FleetPlan#of}'s. A node that
 * leaves cleanly is no longer registered, so no longer planned; one that dies stays a candidate,
 * out of service, its blocks still its own and covered by its backup.
 * <p>The plan is computed when asked (each heartbeat's answer, each fabric round): what it reads
 * is in memory but the registered nodes, which are re-read only after a registration changed.
 * Its version grows whenever the members change. It starts at the clock's milliseconds, so a
 * restarted control plane publishes versions above those it published before (a receiver ignores
 * an older plan) without storing them.
 * <p>The return (docs/fleet.md, "Return"): when a member leaves service, its backup carries its
 * flows (senders re-point its slot there, the backup promotes its copies). When it is ready again
 * it is not put back in service at once, or its flows' packets would reach a node without them:
 * the plan first makes it the backup of the member that covered for it, which copies it every
 * flow it holds, and only once that member reports the copy acknowledged ({@code syncedTo}) is
 * the returning node in service, and its slot back home. If the covering member is gone, or the
 * hand-back takes longer than {@link #HAND_BACK_LIMIT}, the node goes back in service anyway.
 * A copy counts only if it went to the returning node's present process: {@code syncedTo} names
 * the backup's incarnation as its acknowledgements gave it. A member that restarts while in
 * service, faster than the liveness window (its heartbeats never stop, their incarnation
 * changes), has lost its flows as surely as one that died, and returns the same way.
 * <p>Members must run as many forwarding threads as each other: a flow's copy is applied on the
 * thread of the sender's that made it, which is the thread its packets reach only when both
 * nodes steer alike. The fleet's count is that of its lowest-index ready member that reports one;
 * a node that runs another is kept out of service, and the log says why once.
 */
public final class FleetPlanner {
    private static final Logger LOG = LoggerFactory.getLogger(FleetPlanner.class);
    /**
     * The longest a returning node waits out of service for its flows: a million-flow walk takes
     * 250 duty cycles and a round trip per 38 records, well under a second here; past this the
     * covering member is taken to be stuck and the node is put back without them.
     */
    static final Duration HAND_BACK_LIMIT = Duration.ofSeconds(10);

    private final NodeRegistry registry;
    private final ForwarderNodes registered;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final Clock clock;
    /** Per node that left service while others carried its flows: the member that covered for it. */
    private final Map<String, String> coveredBy = new HashMap<>();
    /** Per covered node that is ready again: since when its flows are being handed back. */
    private final Map<String, Instant> returningSince = new HashMap<>();
    /** Per member in service in the last plan: the incarnation it served as. */
    private final Map<String, String> servedAs = new HashMap<>();
    /** Nodes kept out for their thread count, with the count they ran when told: one warning each. */
    private final Map<String, Integer> mismatched = new HashMap<>();
    private volatile boolean stale = true;
    private List<ForwarderNodes.Registered> candidates = List.of();
    private FleetPlan plan;

    public FleetPlanner(NodeRegistry registry, ForwarderNodes registered, Clock clock) {
        this.registry = registry;
        this.registered = registered;
        this.plan = FleetPlan.empty(clock.millis());
        this.clock = clock;
        registry.whenProgressed(() -> stale = true);
        registered.whenChanged(() -> stale = true);
    }

    /** Runs {@code listener} after the plan changed (on the thread that noticed): cheap, not blocking. */
    public void whenChanged(Runnable listener) {
        listeners.add(listener);
    }

    /** The plan now: a new version if anything changed since the last one. */
    public FleetPlan plan() {
        FleetPlan next;
        synchronized (this) {
            if (stale) {
                stale = false;
                candidates = registered.all();
            }
            Map<String, NodeRegistry.NodeStatus> reported = new HashMap<>();
            registry.all().forEach(n -> reported.put(n.name(), n));
            List<FleetPlan.Candidate> now = new ArrayList<>(candidates.size());
            Map<Integer, Integer> handBacks = new HashMap<>();
            int threads = fleetThreads(reported);
            for (ForwarderNodes.Registered r : candidates) {
                NodeRegistry.NodeStatus status = reported.get(r.name());
                boolean ready = status != null && registry.isLive(status) && status.appliedVersion() >= 0 && status.ready()
                        && threadsMatch(r.name(), status.threads(), threads);
                noteDeparture(r.name(), ready && !restartedInService(r.name(), status));
                boolean inService = ready && !handingBack(r, reported, handBacks);
                if (inService) {
                    servedAs.put(r.name(), status.incarnation());
                } else {
                    servedAs.remove(r.name());
                }
                now.add(new FleetPlan.Candidate(r.index(), r.name(), r.underlayIp(), inService));
            }
            FleetPlan candidate = FleetPlan.of(plan.version(), now);
            for (Map.Entry<Integer, Integer> h : handBacks.entrySet()) {
                candidate = candidate.handingBack(h.getKey(), h.getValue());
            }
            if (candidate.members().equals(plan.members())) {
                return plan;
            }
            next = new FleetPlan(plan.version() + 1, candidate.anycast(), candidate.members());
            plan = next;
        }
        LOG.info("fleet plan {}: {}", next.version(), next.members().stream()
                .map(m -> m.index() + "=" + m.name() + (m.inService() ? "" : " (out of service)") + " backup " + m.backup()).toList());
        listeners.forEach(Runnable::run);
        return next;
    }

    /** The thread count of the lowest-index live member that reports one; unknown when none does. */
    private int fleetThreads(Map<String, NodeRegistry.NodeStatus> reported) {
        for (ForwarderNodes.Registered r : candidates) { // in index order, as the store lists them
            NodeRegistry.NodeStatus status = reported.get(r.name());
            if (status != null && registry.isLive(status) && status.threads() != NodeHeartbeat.THREADS_UNKNOWN) {
                return status.threads();
            }
        }
        return NodeHeartbeat.THREADS_UNKNOWN;
    }

    /** Whether a node of {@code threads} may serve in a fleet of {@code fleet}; says so once when not. */
    private boolean threadsMatch(String name, int threads, int fleet) {
        if (threads == NodeHeartbeat.THREADS_UNKNOWN || fleet == NodeHeartbeat.THREADS_UNKNOWN || threads == fleet) {
            mismatched.remove(name);
            return true;
        }
        if (!Integer.valueOf(threads).equals(mismatched.put(name, threads))) {
            LOG.warn("fleet: node {} runs {} forwarding threads, the fleet {}: it stays out of service until it runs {} "
                    + "(hyperplane node --threads {})", name, threads, fleet, fleet, fleet);
        }
        return false;
    }

    /** The member named {@code name} in the last plan published, or null. */
    private FleetPlan.Member planned(String name) {
        return plan.members().stream().filter(m -> m.name().equals(name)).findFirst().orElse(null);
    }

    /** Whether a member in service in the last plan reports another incarnation than it served as: it restarted in place. */
    private boolean restartedInService(String name, NodeRegistry.NodeStatus status) {
        String before = servedAs.get(name);
        return before != null && status != null && !before.equals(status.incarnation());
    }

    /** A member in service in the last plan that is not ready now left: its backup there carries its flows from now on. */
    private void noteDeparture(String name, boolean ready) {
        FleetPlan.Member before = planned(name);
        if (before == null || !before.inService() || ready || before.backup() == FleetPlan.NO_BACKUP) {
            return;
        }
        coveredBy.put(name, plan.member(before.backup()).name());
        returningSince.remove(name);
    }

    /**
     * Whether ready node {@code r} waits out of service while the member that covered for it
     * copies it every flow ({@code handBacks} gets cover index → {@code r}'s index); false once
     * that member reports the copy acknowledged, is gone, or took too long.
     */
    private boolean handingBack(ForwarderNodes.Registered r, Map<String, NodeRegistry.NodeStatus> reported, Map<Integer, Integer> handBacks) {
        String coverName = coveredBy.get(r.name());
        if (coverName == null) {
            return false;
        }
        Instant since = returningSince.computeIfAbsent(r.name(), n -> clock.instant());
        NodeRegistry.NodeStatus cover = reported.get(coverName);
        FleetPlan.Member coverMember = planned(coverName);
        String outcome = null;
        if (cover == null || !registry.isLive(cover) || coverMember == null) {
            outcome = "its cover " + coverName + " is gone: in service without its flows";
        } else if (cover.syncedTo().equals(r.underlayIp()) && cover.syncedToIncarnation().equals(incarnation(reported.get(r.name())))
                && cover.lastSeen().isAfter(since)) {
            outcome = coverName + " handed its flows back";
        } else if (Duration.between(since, clock.instant()).compareTo(HAND_BACK_LIMIT) > 0) {
            outcome = coverName + " did not hand its flows back within " + HAND_BACK_LIMIT.toSeconds() + " s: in service without them";
        }
        if (outcome != null) {
            coveredBy.remove(r.name());
            returningSince.remove(r.name());
            LOG.info("fleet: {} returns, {}", r.name(), outcome);
            return false;
        }
        handBacks.put(coverMember.index(), r.index());
        return true;
    }

    private static String incarnation(NodeRegistry.NodeStatus status) {
        return status == null ? "" : status.incarnation();
    }
}
