package io.hyperplane.node;

import io.hyperplane.dataplane.counters.FlowCounts;
import io.hyperplane.packet.Ipv4Address;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node's forwarding threads as the rest of the node sees them: one config handed to all,
 * their published figures summed. The heartbeat reports, and the counters file's node totals
 * show, the sum over threads of flows, NAT ports and NAT gateway metrics; with one thread that is
 * its own figures, as before. Every method runs on a thread other than the forwarding ones.
 */
final class ForwardingThreads {
    private final List<ForwardingAgent> agents;
    private final CountersFile countersFile;
    private final String incarnation;

    ForwardingThreads(List<ForwardingAgent> agents, CountersFile countersFile, int incarnation) {
        this.agents = List.copyOf(agents);
        this.countersFile = countersFile;
        this.incarnation = ReplicationChannel.formatIncarnation(incarnation);
    }

    /** This node process's run, as its heartbeats and its fleet channel's acknowledgements give it. */
    String incarnation() {
        return incarnation;
    }

    int size() {
        return agents.size();
    }

    ForwardingAgent agent(int thread) {
        return agents.get(thread);
    }

    /** Hands the config to every thread (each wakes and takes it before its next batch). */
    void offer(LoadedConfig config) {
        for (ForwardingAgent agent : agents) {
            agent.offer(config);
        }
    }

    /** Hands this node's part of a fleet plan to every thread (each wakes and takes it before its next batch). */
    void offer(NodeFleet fleet) {
        for (ForwardingAgent agent : agents) {
            agent.offer(fleet);
        }
    }

    /** Counted once, on thread 0. */
    void configRejected() {
        agents.getFirst().configRejected();
    }

    /** The kernel's drops for the node's whole socket group: one figure, counted on thread 0. */
    void socketOverflows(long drops) {
        agents.getFirst().socketOverflows(drops);
    }

    /** The highest version every thread has acknowledged, -1 before any. */
    long acknowledgedVersion() {
        long version = Long.MAX_VALUE;
        for (ForwardingAgent agent : agents) {
            version = Math.min(version, agent.acknowledgedVersion());
        }
        return version;
    }

    /**
     * The backup every thread has copied all its flows to, acknowledged, as a dotted address; empty
     * while any thread is still copying or has none (the heartbeat's {@code syncedTo}).
     */
    Synced synced() {
        long synced = agents.getFirst().synced();
        for (ForwardingAgent agent : agents) {
            if (agent.synced() != synced) {
                return Synced.NONE;
            }
        }
        int ip = (int) (synced >>> 32);
        return ip == 0 ? Synced.NONE : new Synced(Ipv4Address.format(ip), ReplicationChannel.formatIncarnation((int) synced));
    }

    /** The backup a node's flows are all copied to (dotted address) and the incarnation of its process; empty strings: none. */
    record Synced(String backup, String incarnation) {
        static final Synced NONE = new Synced("", "");
    }

    /** The config every thread runs on (the oldest any of them does); null while one has none. */
    LoadedConfig applied() {
        LoadedConfig oldest = null;
        for (ForwardingAgent agent : agents) {
            LoadedConfig a = agent.applied();
            if (a == null) {
                return null;
            }
            if (oldest == null || a.version() < oldest.version()) {
                oldest = a;
            }
        }
        return oldest;
    }

    /** The version of {@link #applied()}, -1 before any. */
    long appliedVersion() {
        LoadedConfig a = applied();
        return a == null ? -1 : a.version();
    }

    /** Open flows and NAT ports per ENI ({@link FlowCounts#eniKey}), summed over threads as of their last publication. */
    Map<Long, PublishedEniPorts.Load> eniLoads() {
        if (agents.size() == 1) {
            return agents.getFirst().eniPorts().read();
        }
        Map<Long, PublishedEniPorts.Load> sum = new HashMap<>();
        for (ForwardingAgent agent : agents) {
            agent.eniPorts().read().forEach((eni, load) -> sum.merge(eni, load,
                    (a, b) -> new PublishedEniPorts.Load(a.openFlows() + b.openFlows(), a.natPorts() + b.natPorts())));
        }
        return sum;
    }

    /** NAT gateways' metrics by CloudWatch name, summed over threads as of their last publication. */
    Map<String, Map<String, Long>> natGatewayMetrics() {
        if (agents.size() == 1) {
            return agents.getFirst().natGateways().read();
        }
        Map<String, Map<String, Long>> sum = new LinkedHashMap<>();
        for (ForwardingAgent agent : agents) {
            agent.natGateways().read().forEach((id, metrics) -> {
                Map<String, Long> total = sum.computeIfAbsent(id, k -> new LinkedHashMap<>());
                metrics.forEach((name, value) -> total.merge(name, value, Long::sum));
            });
        }
        return sum;
    }

    /**
     * Writes the node's totals to the counters file from what the threads last published. With
     * one thread, that thread writes them itself as it always did; this does nothing.
     */
    void publishTotals() {
        if (agents.size() > 1) {
            countersFile.publishTotals(eniLoads(), natGatewayMetrics(), System.currentTimeMillis());
        }
    }

    void stop() {
        for (ForwardingAgent agent : agents) {
            agent.stop();
        }
    }
}
