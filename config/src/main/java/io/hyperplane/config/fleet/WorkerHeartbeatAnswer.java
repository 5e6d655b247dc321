package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/** The control plane's answer to a {@link WorkerHeartbeat}: the live forwarder nodes, where environments tunnel to. */
public record WorkerHeartbeatAnswer(List<LiveNode> nodes) {
    public WorkerHeartbeatAnswer {
        nodes = Check.list(nodes, "worker heartbeat answer", "nodes");
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
