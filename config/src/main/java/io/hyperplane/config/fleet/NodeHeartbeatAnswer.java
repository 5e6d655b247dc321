package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The control plane's answer to a {@link NodeHeartbeat}: the interval it expects heartbeats at,
 * the configuration version it publishes now, and the fleet's plan (the node's index, its port
 * blocks and its backup; docs/fleet.md). Nodes keep their own interval; versions come over the
 * configuration stream.
 *
 * @param fleet the plan now; absent from a control plane that plans no fleet
 */
public record NodeHeartbeatAnswer(@JsonProperty(required = true) long heartbeatIntervalMs,
                                  @JsonProperty(required = true) long configVersion, FleetPlan fleet) {
    public NodeHeartbeatAnswer {
        Check.atLeast(heartbeatIntervalMs, 1, "node heartbeat answer", "heartbeatIntervalMs");
        Check.atLeast(configVersion, 0, "node heartbeat answer", "configVersion");
    }

    /** An answer without a plan. */
    public NodeHeartbeatAnswer(long heartbeatIntervalMs, long configVersion) {
        this(heartbeatIntervalMs, configVersion, null);
    }
}
