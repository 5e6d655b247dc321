package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.dataplane.counters.FlowCounts;
import io.hyperplane.packet.Ipv4Address;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Registers the node with the control plane and keeps it registered: a PUT every heartbeat
 * interval, reporting the config version the node has acknowledged (handed to its forwarding
 * thread; see {@link ForwardingThreads#acknowledgedVersion()}), so a heartbeat never reports less
 * than the configuration stream or long poll already did, and NAT ports per ENI as of the
 * forwarding thread's last publish interval, and its NAT gateways' metrics. A new version is reported by the stream's
 * acknowledgement or the next long poll, not by an extra heartbeat: that would put two more
 * requests on every cold start's path. Runs on its own thread until interrupted; failures are
 * retried with the same backoff and 401 rule as {@link ConfigPoller}.
 */
final class HeartbeatSender implements Runnable {
    private final ControlPlaneApi api;
    private final ControlPlaneHealth health;
    private final ForwardingThreads agent;
    private final String underlayIp;
    private final int port;
    /** Where the node runs, for the control plane's view of the fleet: its socket's namespace ("" for none) and its pid. */
    private final String netns;
    private final long pid = ProcessHandle.current().pid();
    private final long intervalNanos;
    private final Runnable everyBeat;
    /** Told each plan a heartbeat answer carries. */
    private final Consumer<FleetPlan> fleet;
    private final Backoff backoff = new Backoff();

    /** {@code everyBeat} runs on this thread before each heartbeat: other slow-path sampling for the node. */
    HeartbeatSender(ControlPlaneApi api, ControlPlaneHealth health, ForwardingThreads agent, int underlayIp, int port, String netns,
                    long intervalNanos, Runnable everyBeat, Consumer<FleetPlan> fleet) {
        this.fleet = fleet;
        this.netns = netns == null ? "" : netns;
        this.api = api;
        this.health = health;
        this.agent = agent;
        this.underlayIp = Ipv4Address.format(underlayIp);
        this.port = port;
        this.intervalNanos = intervalNanos;
        this.everyBeat = everyBeat;
    }

    @Override
    public void run() {
        while (!Thread.currentThread().isInterrupted()) {
            everyBeat.run();
            long pauseNanos;
            try {
                FleetPlan plan = api.heartbeat(heartbeat());
                if (plan != null) {
                    fleet.accept(plan);
                }
                health.reached();
                backoff.reset();
                pauseNanos = intervalNanos;
            } catch (ControlPlaneApi.Unauthorized e) {
                health.unauthorized(e.getMessage());
                pauseNanos = TimeUnit.MILLISECONDS.toNanos(ConfigPoller.UNAUTHORIZED_RETRY_MILLIS);
            } catch (IOException e) {
                health.unreachable(e.getMessage());
                pauseNanos = TimeUnit.MILLISECONDS.toNanos(backoff.nextMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            LockSupport.parkNanos(this, pauseNanos); // returns early on interrupt
        }
    }

    private NodeHeartbeat heartbeat() {
        LoadedConfig applied = agent.applied();
        if (applied == null) {
            return new NodeHeartbeat(underlayIp, port, NodeHeartbeat.NO_VERSION, agent.incarnation(), List.of(), List.of(), 0, 0, netns, pid,
                    true, "", agent.size());
        }
        NodeSnapshot snapshot = applied.snapshot();
        Map<String, Integer> vniBySubnet = new HashMap<>();
        snapshot.subnets().forEach(s -> vniBySubnet.put(s.id(), s.vni()));
        Map<Long, PublishedEniPorts.Load> loads = agent.eniLoads();
        List<NodeHeartbeat.EniUsage> usage = new ArrayList<>(snapshot.enis().size());
        for (NodeSnapshot.Eni eni : snapshot.enis()) {
            PublishedEniPorts.Load load = loads.get(FlowCounts.eniKey(vniBySubnet.get(eni.subnetId()), Ipv4Address.parse(eni.ip())));
            usage.add(load == null ? new NodeHeartbeat.EniUsage(eni.id(), eni.ip(), 0, 0)
                    : new NodeHeartbeat.EniUsage(eni.id(), eni.ip(), load.openFlows(), load.natPorts()));
        }
        List<NodeHeartbeat.NatGatewayUsage> natGateways = new ArrayList<>();
        agent.natGatewayMetrics().forEach((id, metrics) -> natGateways.add(new NodeHeartbeat.NatGatewayUsage(id, metrics)));
        // Node-wide: every ENI that holds flows, whether or not the applied snapshot lists it.
        long flows = loads.values().stream().mapToLong(PublishedEniPorts.Load::openFlows).sum();
        long natPorts = loads.values().stream().mapToLong(PublishedEniPorts.Load::natPorts).sum();
        // The process's run: the control plane tells a restart by it, and a copy to this node's earlier run from one to this.
        ForwardingThreads.Synced synced = agent.synced();
        return new NodeHeartbeat(underlayIp, port, agent.acknowledgedVersion(), agent.incarnation(), usage, natGateways, flows, natPorts,
                netns, pid, true, synced.backup(), agent.size(), synced.incarnation());
    }
}
