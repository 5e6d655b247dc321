package io.hyperplane.control.nodes;

import io.hyperplane.control.fabric.ForwarderNodes;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The forwarder nodes as they report themselves: a node registers with its first heartbeat and is
 * live while heartbeats keep coming (within {@code liveness}). Each heartbeat says which
 * configuration version the node's forwarding thread runs and, per ENI, its open flows and NAT
 * ports in use. Registration is also recorded in the store ({@link ForwarderNodes}), which is what
 * the VPC tunnels flood to; liveness is kept in memory only: after a restart nodes are live again
 * with their next heartbeat.
 */
public final class NodeRegistry {
    /** One ENI's load on one node, by ENI id (addresses repeat across VPCs). */
    public record EniLoad(String id, long flows, long natPorts) {
    }

    /**
     * What a node last reported. {@code incarnation} tells one run of a node process from the next
     * (empty if the node sends none).
     */
    public record NodeStatus(String name, String underlayIp, int port, long appliedVersion, Instant lastSeen, List<EniLoad> enis,
                             String incarnation) {
    }

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
    public void heartbeat(String name, String underlayIp, int port, long appliedVersion, String incarnation, List<EniLoad> enis) {
        NodeStatus[] before = new NodeStatus[1];
        NodeStatus now = nodes.compute(name, (n, previous) -> {
            before[0] = previous;
            long version = previous != null && previous.incarnation().equals(incarnation) && isLive(previous)
                    ? Math.max(previous.appliedVersion(), appliedVersion) : appliedVersion;
            return new NodeStatus(name, underlayIp, port, version, clock.instant(), List.copyOf(enis), incarnation);
        });
        NodeStatus previous = before[0];
        if (previous == null || !previous.underlayIp().equals(underlayIp)) {
            registered.register(name, underlayIp);
        }
        if (previous == null || previous.appliedVersion() != now.appliedVersion() || !isLive(previous)) {
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
        return future.orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
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
        boolean[] raised = new boolean[1];
        nodes.computeIfPresent(name, (n, previous) -> {
            if (version <= previous.appliedVersion()) {
                return previous;
            }
            raised[0] = true;
            return new NodeStatus(name, previous.underlayIp(), previous.port(), version, clock.instant(), previous.enis(), previous.incarnation());
        });
        if (raised[0]) {
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
        nodes.remove(name);
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

    /** Open flows and NAT ports per ENI id, summed over live nodes. */
    public Map<String, long[]> loadByEni() {
        Map<String, long[]> out = new HashMap<>();
        for (NodeStatus n : live()) {
            for (EniLoad load : n.enis()) {
                long[] sum = out.computeIfAbsent(load.id(), k -> new long[2]);
                sum[0] += load.flows();
                sum[1] += load.natPorts();
            }
        }
        return out;
    }
}
