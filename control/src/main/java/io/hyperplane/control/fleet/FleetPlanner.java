package io.hyperplane.control.fleet;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.control.fabric.ForwarderNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
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
 */
public final class FleetPlanner {
    private static final Logger LOG = LoggerFactory.getLogger(FleetPlanner.class);

    private final NodeRegistry registry;
    private final ForwarderNodes registered;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean stale = true;
    private List<ForwarderNodes.Registered> candidates = List.of();
    private FleetPlan plan;

    public FleetPlanner(NodeRegistry registry, ForwarderNodes registered, Clock clock) {
        this.registry = registry;
        this.registered = registered;
        this.plan = FleetPlan.empty(clock.millis());
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
            for (ForwarderNodes.Registered r : candidates) {
                NodeRegistry.NodeStatus status = reported.get(r.name());
                boolean inService = status != null && registry.isLive(status) && status.appliedVersion() >= 0 && status.ready();
                now.add(new FleetPlan.Candidate(r.index(), r.name(), r.underlayIp(), inService));
            }
            FleetPlan candidate = FleetPlan.of(plan.version(), now);
            if (candidate.members().equals(plan.members())) {
                return plan;
            }
            next = FleetPlan.of(plan.version() + 1, now);
            plan = next;
        }
        LOG.info("fleet plan {}: {}", next.version(), next.members().stream()
                .map(m -> m.index() + "=" + m.name() + (m.inService() ? "" : " (out of service)") + " backup " + m.backup()).toList());
        listeners.forEach(Runnable::run);
        return next;
    }
}
