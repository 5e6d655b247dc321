package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The last snapshot the control plane gave this node, in {@code <state dir>/snapshot.json}, so a
 * node restarted while the control plane is down forwards on it instead of dropping everything.
 * Written atomically after each accepted version; read once at start.
 */
final class SnapshotCache {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotCache.class);
    private static final String FILE_NAME = "snapshot.json";

    private final Path file;

    SnapshotCache(Path stateDir) {
        this.file = stateDir.resolve(FILE_NAME);
    }

    /**
     * The cached config, or null when there is none. An unreadable or invalid cache is reported
     * and ignored rather than fatal: the control plane, not the cache, is the source of truth.
     */
    LoadedConfig load() {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            return LoadedConfig.of(SnapshotJson.read(file));
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("cached config {} ignored: {}", file, e.getMessage());
            return null;
        }
    }

    void store(NodeSnapshot snapshot) throws IOException {
        SnapshotJson.writeAtomically(snapshot, file);
    }

    Path file() {
        return file;
    }
}
