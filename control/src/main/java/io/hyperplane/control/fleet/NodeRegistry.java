package io.hyperplane.control.fleet;

import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.config.fleet.NodeHeartbeat.EniUsage;
import io.hyperplane.config.fleet.NodeHeartbeat.NatGatewayUsage;
import io.hyperplane.control.fabric.ForwarderNodes;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The forwarder nodes as they report themselves: a node registers with its first heartbeat and is
 * live while heartbeats keep coming (within {@code liveness}). Each heartbeat says which
 * configuration version the node's forwarding thread runs, per ENI its open flows and NAT ports in
 * use, and per NAT gateway its CloudWatch-named metrics; what a node stops reporting (it died) stops
 * counting with its liveness. Registration is also recorded in the store ({@link ForwarderNodes}), with
 * the node's index in the fleet's plan ({@link FleetPlanner}); liveness is kept in memory only: after
 * a restart nodes are live again with their next heartbeat.
 */
public final class NodeRegistry {
    /**
     * What a node last reported. {@code incarnation} tells one run of a node process from the next
     * (empty if the node sends none); {@code flows} and {@code natPorts} are the whole node's;
     * {@code netns} and {@code pid} say where it runs on its host (empty and 0 if it does not say);
     * {@code ready}: not resynchronising (true for a node that does not say).
     */
    public record NodeStatus(String name, String underlayIp, int port, long appliedVersion, Instant lastSeen, List<EniUsage> enis,
                             String incarnation, List<NatGatewayUsage> natGateways, long flows, long natPorts, String netns, long pid,
                             boolean ready, String syncedTo, int threads, String syncedToIncarnation) {
    }

    /**
     * One node's part of the fleet: its last report, whether it is live, and its share (0..1) of the
     * open flows on the live nodes (0 for a node that is not live: it carries nothing now).
     */
    public record NodeShare(NodeStatus node, boolean live, double flowShare) {
    }

    /** The fleet as the heartbeats show it: open flows and NAT ports summed over the live nodes, and every node's share. */
    public record Fleet(long flows, long natPorts, List<NodeShare> nodes) {
        public Fleet {
            nodes = List.copyOf(nodes);
        }
    }

    /** One ENI's load summed over the live nodes. */
    public record EniLoad(long flows, long natPorts) {
        public static final EniLoad NONE = new EniLoad(0, 0);

        EniLoad plus(EniUsage usage) {
            return new EniLoad(flows + usage.flows(), natPorts + usage.natPorts());
        }
    }

    /**
     * One NAT gateway's metrics on the live nodes, by CloudWatch name: summed over them (what the
     * gateway did, as CloudWatch would count it), and as each node (by name) reported them.
     */
    public record NatGatewayMetrics(Map<String, Long> total, Map<String, Map<String, Long>> byNode) {
        public static final NatGatewayMetrics NONE = new NatGatewayMetrics(Map.of(), Map.of());

        public NatGatewayMetrics {
            total = Collections.unmodifiableMap(new LinkedHashMap<>(total));
            byNode = Collections.unmodifiableMap(new LinkedHashMap<>(byNode));
        }
    }

    /** Read without a lock; written under this registry's lock, so that a heartbeat and an acknowledgement do not interleave. */
    private final Map<String, NodeStatus> nodes = new ConcurrentHashMap<>();
    private final List<VersionWaiter> waiters = new ArrayList<>();

    private record VersionWaiter(long version, CompletableFuture<Void> future) {
    }
    private final ForwarderNodes registered;
    private final Duration liveness;
    private final Clock clock;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    public NodeRegistry(ForwarderNodes registered, Duration liveness, Clock clock) {
        this.registered = registered;
        this.liveness = liveness;
        this.clock = clock;
    }

    /**
     * Runs {@code listener} whenever a node's applied version or liveness may have changed, on the
     * thread that reported it (a heartbeat's, a stream's): it must be cheap and not block. Registered
     * after construction, as the reconciler that listens is made with this registry.
     */
    public void whenProgressed(Runnable listener) {
        listeners.add(listener);
    }

    private void progressed() {
        listeners.forEach(Runnable::run);
        releaseWaiters();
    }

    /**
     * A node's heartbeat. Within one incarnation a node's version only grows, so a heartbeat
     * reporting less than the node already acknowledged (it was written before an acknowledgement
     * that overtook it) does not lower it; a new incarnation (a restarted node) reports what it runs.
     */
    public void heartbeat(String name, String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                          List<NatGatewayUsage> natGateways) {
        heartbeat(name, new NodeHeartbeat(underlayIp, port, appliedVersion, incarnation, enis, natGateways));
    }

    /** As {@link #heartbeat(String, String, int, long, String, List, List)}, with the node's own node-wide figures. */
    public void heartbeat(String name, NodeHeartbeat beat) {
        String underlayIp = beat.underlayIp();
        long appliedVersion = beat.appliedVersion();
        String incarnation = beat.incarnation();
        NodeStatus previous;
        NodeStatus now;
        synchronized (this) {
            previous = nodes.get(name);
            long version = previous != null && previous.incarnation().equals(incarnation) && isLive(previous)
                    ? Math.max(previous.appliedVersion(), appliedVersion) : appliedVersion;
            now = new NodeStatus(name, underlayIp, beat.port(), version, clock.instant(), beat.enis(), incarnation, beat.natGateways(),
                    beat.flows(), beat.natPorts(), beat.netns(), beat.pid(), beat.ready(), beat.syncedTo(), beat.threads(),
                    beat.syncedToIncarnation());
            if (previous == null || !previous.underlayIp().equals(underlayIp)) {
                registered.register(name, underlayIp); // a 17th node is refused here, before it counts as live
            }
            nodes.put(name, now);
        }
        if (previous == null || previous.appliedVersion() != now.appliedVersion() || !isLive(previous)
                || !previous.underlayIp().equals(underlayIp) || previous.ready() != now.ready()) {
            progressed();
        }
    }

    /**
     * Completes once every live node has applied {@code version} (at once if none is behind, or
     * none is live), or exceptionally with a TimeoutException after {@code timeout}. This is how
     * an execution environment is known to be programmed before its first packet.
     */
    public CompletableFuture<Void> whenApplied(long version, Duration timeout) {
        CompletableFuture<Void> future = new CompletableFuture<>();
        synchronized (waiters) {
            waiters.add(new VersionWaiter(version, future));
        }
        releaseWaiters();
        future.whenComplete((v, e) -> {
            synchronized (waiters) {
                waiters.removeIf(w -> w.future() == future);
            }
        });
        return future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void releaseWaiters() {
        List<VersionWaiter> ready = new ArrayList<>();
        synchronized (waiters) {
            for (VersionWaiter w : waiters) {
                if (behind(w.version()).isEmpty()) {
                    ready.add(w);
                }
            }
        }
        ready.forEach(w -> w.future().complete(null));
    }

    /**
     * A node asking for configuration after {@code version} runs it (it asks only once its
     * forwarding thread has switched): as good as a heartbeat for what it applied, and sooner.
     */
    public void polled(String name, long version) {
        boolean raised;
        synchronized (this) {
            NodeStatus previous = nodes.get(name);
            raised = previous != null && version > previous.appliedVersion();
            if (raised) {
                nodes.put(name, new NodeStatus(name, previous.underlayIp(), previous.port(), version, clock.instant(), previous.enis(),
                        previous.incarnation(), previous.natGateways(), previous.flows(), previous.natPorts(), previous.netns(), previous.pid(),
                        previous.ready(), previous.syncedTo(), previous.threads(), previous.syncedToIncarnation()));
            }
        }
        if (raised) {
            progressed();
        }
    }

    private final Map<String, Integer> streams = new ConcurrentHashMap<>();

    /** A node opened (+1) or closed (-1) a configuration stream. */
    public void stream(String name, int delta) {
        streams.merge(name, delta, (a, b) -> a + b == 0 ? null : a + b);
    }

    /** Whether the node takes its configuration over a stream now (rather than by long poll). */
    public boolean streaming(String name) {
        return streams.containsKey(name);
    }

    /** A node leaving cleanly: VPCs stop flooding to it and it no longer holds up programming. */
    public void remove(String name) {
        synchronized (this) {
            nodes.remove(name);
        }
        registered.remove(name);
        progressed();
    }

    public List<NodeStatus> live() {
        List<NodeStatus> out = new ArrayList<>();
        for (NodeStatus n : nodes.values()) {
            if (isLive(n)) {
                out.add(n);
            }
        }
        out.sort(Comparator.comparing(NodeStatus::name));
        return out;
    }

    public List<NodeStatus> all() {
        List<NodeStatus> out = new ArrayList<>(nodes.values());
        out.sort(Comparator.comparing(NodeStatus::name));
        return out;
    }

    public boolean isLive(NodeStatus n) {
        return !n.lastSeen().plus(liveness).isBefore(clock.instant());
    }

    /** The live nodes that have not yet applied {@code version}. */
    public List<String> behind(long version) {
        List<String> out = new ArrayList<>();
        for (NodeStatus n : live()) {
            if (n.appliedVersion() < version) {
                out.add(n.name() + " (at " + n.appliedVersion() + ")");
            }
        }
        return out;
    }

    /**
     * Which nodes carry which share of the flows: every node known (by name), live or not, with its
     * last figures; totals and shares count the live ones only, as {@link #loadByEni} does.
     */
    public Fleet fleet() {
        List<NodeStatus> known = all();
        long flows = 0;
        long natPorts = 0;
        for (NodeStatus n : known) {
            if (isLive(n)) {
                flows += n.flows();
                natPorts += n.natPorts();
            }
        }
        List<NodeShare> shares = new ArrayList<>(known.size());
        for (NodeStatus n : known) {
            boolean live = isLive(n);
            shares.add(new NodeShare(n, live, live && flows > 0 ? (double) n.flows() / flows : 0));
        }
        return new Fleet(flows, natPorts, shares);
    }

    /** Open flows and NAT ports per ENI id, summed over live nodes. */
    public Map<String, EniLoad> loadByEni() {
        Map<String, EniLoad> out = new HashMap<>();
        for (NodeStatus n : live()) {
            for (EniUsage usage : n.enis()) {
                out.put(usage.id(), out.getOrDefault(usage.id(), EniLoad.NONE).plus(usage));
            }
        }
        return out;
    }

    /**
     * Each NAT gateway's metrics, by id, from the live nodes' last reports: a dead node's figures
     * are left out with it (they are counts since that node started, and it carries no traffic now).
     */
    public Map<String, NatGatewayMetrics> metricsByNatGateway() {
        Map<String, Map<String, Long>> totals = new HashMap<>();
        Map<String, Map<String, Map<String, Long>>> byNode = new HashMap<>();
        for (NodeStatus n : live()) {
            for (NatGatewayUsage usage : n.natGateways()) {
                Map<String, Long> total = totals.computeIfAbsent(usage.id(), id -> new LinkedHashMap<>());
                usage.metrics().forEach((metric, value) -> total.merge(metric, value, Long::sum));
                byNode.computeIfAbsent(usage.id(), id -> new LinkedHashMap<>()).put(n.name(), usage.metrics());
            }
        }
        Map<String, NatGatewayMetrics> out = new HashMap<>();
        totals.forEach((id, total) -> out.put(id, new NatGatewayMetrics(total, byNode.get(id))));
        return out;
    }
}
