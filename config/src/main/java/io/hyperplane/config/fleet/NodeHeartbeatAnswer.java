package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The control plane's answer to a {@link NodeHeartbeat}: the interval it expects heartbeats at
 * and the configuration version it publishes now. Nodes need neither today (their interval is
 * their own setting; versions come over the configuration stream), so they do not read it.
 */
public record NodeHeartbeatAnswer(@JsonProperty(required = true) long heartbeatIntervalMs,
                                  @JsonProperty(required = true) long configVersion) {
    public NodeHeartbeatAnswer {
        Check.atLeast(heartbeatIntervalMs, 1, "node heartbeat answer", "heartbeatIntervalMs");
        Check.atLeast(configVersion, 0, "node heartbeat answer", "configVersion");
    }
}
