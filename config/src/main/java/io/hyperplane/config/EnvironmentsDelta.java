package io.hyperplane.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The change from one snapshot version to the next when only execution environments changed (a
 * cold start binding its network, an environment going away): what a node needs to move from
 * {@code base} to {@code version} without the whole snapshot. The control plane computes the next
 * snapshot with {@link #applyTo} and the node applies the same function to the snapshot it runs,
 * so both arrive at the same content.
 */
public record EnvironmentsDelta(long base, long version, List<NodeSnapshot.ExecutionEnvironment> put, List<String> remove) {
    public EnvironmentsDelta {
        if (version <= base) {
            throw new IllegalArgumentException("environments delta " + base + " -> " + version + ": the version must grow");
        }
        put = List.copyOf(Objects.requireNonNullElse(put, List.of()));
        remove = List.copyOf(Objects.requireNonNullElse(remove, List.of()));
    }

    /**
     * {@code snapshot} (which must be version {@link #base}) with the environments put (replacing
     * any with the same id) and removed (ids it does not have are ignored), ordered by VNI as the
     * control plane's store reads them; validated as a whole, like any snapshot.
     */
    public NodeSnapshot applyTo(NodeSnapshot snapshot) {
        if (snapshot.version() != base) {
            throw new IllegalArgumentException("environments delta " + base + " -> " + version + " does not apply to version " + snapshot.version());
        }
        return snapshot.withEnvironments(version, environments(snapshot.executionEnvironments(), put, remove));
    }

    /** {@code environments} with {@code put} and {@code remove} applied, ordered by VNI. */
    public static List<NodeSnapshot.ExecutionEnvironment> environments(List<NodeSnapshot.ExecutionEnvironment> environments,
                                                                       List<NodeSnapshot.ExecutionEnvironment> put, List<String> remove) {
        Map<String, NodeSnapshot.ExecutionEnvironment> byId = new LinkedHashMap<>();
        for (NodeSnapshot.ExecutionEnvironment ee : environments) {
            byId.put(ee.id(), ee);
        }
        for (String id : remove) {
            byId.remove(id);
        }
        for (NodeSnapshot.ExecutionEnvironment ee : put) {
            byId.put(ee.id(), ee);
        }
        List<NodeSnapshot.ExecutionEnvironment> out = new ArrayList<>(byId.values());
        out.sort(Comparator.comparingInt(NodeSnapshot.ExecutionEnvironment::vni).thenComparing(NodeSnapshot.ExecutionEnvironment::id));
        return out;
    }
}
