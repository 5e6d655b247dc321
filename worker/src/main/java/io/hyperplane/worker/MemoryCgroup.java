package io.hyperplane.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A memory cgroup holding one function process: its limit is the function's MemorySize, and its
 * peak usage is the REPORT line's "Max Memory Used". Works with the cgroup v1 memory controller
 * (/sys/fs/cgroup/memory) or cgroup v2 (/sys/fs/cgroup with the memory controller enabled); on a
 * machine with neither, processes run without a limit and the peak is read from /proc.
 */
final class MemoryCgroup {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryCgroup.class);
    private static final Path V1 = Path.of("/sys/fs/cgroup/memory");
    private static final Path V2 = Path.of("/sys/fs/cgroup");

    private enum Kind { V1, V2, NONE }

    private static final Kind KIND = detect();

    private final Path dir;

    private MemoryCgroup(Path dir) {
        this.dir = dir;
    }

    private static Kind detect() {
        if (Files.isRegularFile(V1.resolve("memory.limit_in_bytes"))) {
            return Kind.V1;
        }
        try {
            if (Files.isRegularFile(V2.resolve("cgroup.controllers")) && Files.readString(V2.resolve("cgroup.controllers")).contains("memory")) {
                return Kind.V2;
            }
        } catch (IOException e) {
            LOG.debug("cgroup v2 unreadable: {}", e.getMessage());
        }
        LOG.warn("no cgroup memory controller found: function processes run without a memory limit");
        return Kind.NONE;
    }

    /** The parent under which a worker keeps its environments' cgroups. */
    static Path parent(String worker) {
        return switch (KIND) {
            case V1 -> V1.resolve("hyperplane-" + worker);
            case V2 -> V2.resolve("hyperplane-" + worker);
            case NONE -> null;
        };
    }

    /** Creates the environment's cgroup limited to {@code bytes}; null when the machine has no controller. */
    static MemoryCgroup create(String worker, String name, long bytes) throws IOException {
        Path parent = parent(worker);
        if (parent == null) {
            return null;
        }
        if (!Files.isDirectory(parent)) {
            Files.createDirectories(parent);
            if (KIND == Kind.V2) {
                Files.writeString(parent.resolve("cgroup.subtree_control"), "+memory");
            }
        }
        Path dir = parent.resolve(name);
        if (!Files.isDirectory(dir)) {
            Files.createDirectory(dir);
        }
        if (KIND == Kind.V1) {
            Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
        } else {
            Files.writeString(dir.resolve("memory.max"), Long.toString(bytes));
            Files.writeString(dir.resolve("memory.swap.max"), "0");
        }
        return new MemoryCgroup(dir);
    }

    /** The file a process writes its pid to, to join. */
    Path procs() {
        return dir.resolve("cgroup.procs");
    }

    /** The processes in it now (empty once it is gone). */
    java.util.List<Long> pids() {
        try (Stream<String> lines = Files.lines(procs())) {
            return lines.map(String::trim).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
        } catch (IOException | NumberFormatException e) {
            return java.util.List.of();
        }
    }

    /** Peak memory use so far, in bytes (0 if unknown). */
    long peakBytes() {
        Path file = dir.resolve(KIND == Kind.V1 ? "memory.max_usage_in_bytes" : "memory.peak");
        try {
            return Long.parseLong(Files.readString(file).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Removes the cgroup (its processes must have exited). */
    void delete() {
        delete(dir);
    }

    /** Removes a cgroup directory, retrying while its last process exits. */
    static void delete(Path dir) {
        for (int attempt = 0; attempt < 50; attempt++) {
            try {
                Files.deleteIfExists(dir); // a cgroup directory is removed with rmdir, its files go with it
                return;
            } catch (IOException e) {
                try {
                    Thread.sleep(20); // the last process may still be exiting
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        LOG.warn("cgroup {} could not be removed", dir);
    }

    /** Removes every environment cgroup a previous run of this worker left behind. */
    static void deleteLeftovers(String worker) {
        Path parent = parent(worker);
        if (parent == null || !Files.isDirectory(parent)) {
            return;
        }
        try (Stream<Path> children = Files.list(parent)) {
            children.filter(Files::isDirectory).forEach(MemoryCgroup::delete);
        } catch (IOException e) {
            LOG.warn("listing {}: {}", parent, e.getMessage());
        }
    }
}
