package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * The control plane's answer to a {@link WorkerHeartbeat}: the live forwarder nodes, and the fleet's
 * plan, which the worker's host spreads its environments' tunnels by (docs/fleet.md).
 *
 * @param fleet the plan now; absent from a control plane that plans no fleet (then environments
 *              tunnel to the first live node)
 */
public record WorkerHeartbeatAnswer(List<LiveNode> nodes, FleetPlan fleet) {
    public WorkerHeartbeatAnswer {
        nodes = Check.list(nodes, "worker heartbeat answer", "nodes");
    }

    /** An answer without a plan. */
    public WorkerHeartbeatAnswer(List<LiveNode> nodes) {
        this(nodes, null);
    }

    /** A live forwarder node and its VXLAN endpoint. */
    public record LiveNode(String name, String underlayIp, @JsonProperty(required = true) int port) {
        public LiveNode {
            Check.name(name, "live node", "name");
            Check.ipv4(underlayIp, "live node", "underlayIp");
            Check.port(port, "live node", "port");
        }
    }
}
