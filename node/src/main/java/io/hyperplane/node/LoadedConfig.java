package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.dataplane.policy.CompiledConfig;

/**
 * A configuration ready for the forwarding thread: compiled off it, and kept together with the
 * snapshot it came from so that slow-path threads can report what is actually applied (its ENIs,
 * for the control plane's heartbeat) without asking the forwarding thread anything.
 */
record LoadedConfig(NodeSnapshot snapshot, CompiledConfig compiled) {

    /** Compiles {@code snapshot}; throws {@link IllegalArgumentException} when it cannot be. */
    static LoadedConfig of(NodeSnapshot snapshot) {
        return new LoadedConfig(snapshot, CompiledConfig.compile(snapshot));
    }

    long version() {
        return snapshot.version();
    }
}
