package io.hyperplane.config.fabric;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where VPCs, subnets and instances become networks. The lab's namespaces are the implementation
 * we ship; a real deployment would plug in its own. Implementations converge: create what is
 * missing, fix what differs, remove what is no longer wanted, adopt what already exists.
 */
public interface Fabric extends AutoCloseable {
    /** Makes the world match {@code desired}; returns the ids of the instances that are now up. */
    Set<String> apply(FabricState desired);

    @Override
    default void close() {
    }

    /** No networks at all: the API alone (for machines without root); every instance is "up" at once. */
    Fabric NONE = desired -> desired.vpcs().stream().flatMap(v -> v.instances().stream())
            .map(FabricState.InstanceHost::id).collect(Collectors.toSet());
}
