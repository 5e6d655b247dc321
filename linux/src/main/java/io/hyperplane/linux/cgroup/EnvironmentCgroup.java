package io.hyperplane.linux.cgroup;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * The cgroups holding one execution environment's processes: memory limited to the function's
 * MemorySize with no swap (its peak is the REPORT line's "Max Memory Used"), and at most
 * {@link #MAX_PROCESSES} processes and threads (Lambda's documented quota). Works with cgroup v1
 * (the memory and pids controllers mounted apart) or v2 (one directory with both); on a machine
 * with neither, processes run without these limits and the peak is read from /proc.
 *
 * <p>Teardown goes through the cgroup, not through what the tenant's processes look like: every
 * process in it is killed, whatever session, process group or namespace it made for itself. On v2
 * {@code cgroup.kill} does it atomically. On v1 the environment's freezer cgroup is frozen first,
 * so nothing forks while its processes are killed, then thawed for the kills to land; without a
 * freezer the processes are killed until none is left, which converges because the sandbox's PID
 * namespace dies with its first process (bubblewrap's init) and the kernel refuses forks in it.
 */
public final class EnvironmentCgroup {
    private static final Logger LOG = LoggerFactory.getLogger(EnvironmentCgroup.class);
    private static final Path V1_MEMORY = Path.of("/sys/fs/cgroup/memory");
    private static final Path V1_PIDS = Path.of("/sys/fs/cgroup/pids");
    private static final Path V1_FREEZER = Path.of("/sys/fs/cgroup/freezer");
    private static final Path V2 = Path.of("/sys/fs/cgroup");

    /** How often teardown looks at a cgroup it is emptying or freezing. */
    private static final long EXIT_POLL_NANOS = 1_000_000;
    /** Lambda's quota: "Processes and threads: 1,024" per execution environment. */
    public static final int MAX_PROCESSES = 1024;

    private enum Kind { V1, V2, NONE }

    private static final Kind KIND = detect();

    /** The memory (v1) or only (v2) directory; the pids and freezer directories on v1, else null. */
    private final Path dir;
    private final Path pidsDir;
    private final Path freezerDir;

    private EnvironmentCgroup(Path dir, Path pidsDir, Path freezerDir) {
        this.dir = dir;
        this.pidsDir = pidsDir;
        this.freezerDir = freezerDir;
    }

    private static Kind detect() {
        if (Files.isRegularFile(V1_MEMORY.resolve("memory.limit_in_bytes"))) {
            return Kind.V1;
        }
        try {
            if (Files.isRegularFile(V2.resolve("cgroup.controllers")) && Files.readString(V2.resolve("cgroup.controllers")).contains("memory")) {
                return Kind.V2;
            }
        } catch (IOException e) {
            LOG.debug("cgroup v2 unreadable: {}", e.getMessage());
        }
        LOG.warn("no cgroup memory controller found: function processes run without a memory or process limit");
        return Kind.NONE;
    }

    /** The parent under which a worker keeps its environments' (memory) cgroups. */
    public static Path parent(String worker) {
        return switch (KIND) {
            case V1 -> V1_MEMORY.resolve("hyperplane-" + worker);
            case V2 -> V2.resolve("hyperplane-" + worker);
            case NONE -> null;
        };
    }

    /** On v1, the parent of the environments' pids cgroups (null where the pids controller is missing). */
    private static Path pidsParent(String worker) {
        return v1Parent(V1_PIDS, worker);
    }

    /** On v1, the parent of the environments' freezer cgroups (null where the freezer is missing). */
    private static Path freezerParent(String worker) {
        return v1Parent(V1_FREEZER, worker);
    }

    private static Path v1Parent(Path controller, String worker) {
        return KIND == Kind.V1 && Files.isRegularFile(controller.resolve("cgroup.procs")) ? controller.resolve("hyperplane-" + worker) : null;
    }

    /** Creates the environment's cgroups limited to {@code bytes} of memory; null when the machine has no controller. */
    public static EnvironmentCgroup create(String worker, String name, long bytes) throws IOException {
        return create(worker, name, bytes, MAX_PROCESSES);
    }

    /** As {@link #create(String, String, long)}, with a process limit of the caller's (an instance's, say). */
    public static EnvironmentCgroup create(String worker, String name, long bytes, int maxProcesses) throws IOException {
        if (maxProcesses < 1) {
            throw new IllegalArgumentException("maxProcesses " + maxProcesses + ": must be at least 1");
        }
        Path parent = parent(worker);
        if (parent == null) {
            return null;
        }
        if (!Files.isDirectory(parent)) {
            Files.createDirectories(parent);
            if (KIND == Kind.V2) {
                Files.writeString(parent.resolve("cgroup.subtree_control"), "+memory +pids");
            }
        }
        Path dir = parent.resolve(name);
        if (!Files.isDirectory(dir)) {
            Files.createDirectory(dir);
        }
        Path pids = null;
        Path freezer = null;
        if (KIND == Kind.V1) {
            Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
            if (Files.exists(dir.resolve("memory.memsw.limit_in_bytes"))) {
                Files.writeString(dir.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes)); // memory plus swap = memory: no swap
            }
            Path pidsParent = pidsParent(worker);
            if (pidsParent != null) {
                pids = pidsParent.resolve(name);
                Files.createDirectories(pids);
                Files.writeString(pids.resolve("pids.max"), Integer.toString(maxProcesses));
            }
            Path freezerParent = freezerParent(worker);
            if (freezerParent != null) {
                freezer = freezerParent.resolve(name);
                Files.createDirectories(freezer);
            }
        } else {
            Files.writeString(dir.resolve("memory.max"), Long.toString(bytes));
            Files.writeString(dir.resolve("memory.swap.max"), "0");
            Files.writeString(dir.resolve("pids.max"), Integer.toString(maxProcesses));
        }
        return new EnvironmentCgroup(dir, pids, freezer);
    }

    /** The files a process writes its pid to, to join every cgroup of the environment. */
    public List<Path> procsFiles() {
        List<Path> files = new ArrayList<>(List.of(procs()));
        for (Path d : new Path[] {pidsDir, freezerDir}) {
            if (d != null) {
                files.add(d.resolve("cgroup.procs"));
            }
        }
        return files;
    }

    /** The memory cgroup's process list. */
    public Path procs() {
        return dir.resolve("cgroup.procs");
    }

    /** The processes in it now (empty once it is gone). */
    public List<Long> pids() {
        return pids(procs());
    }

    private static List<Long> pids(Path procs) {
        try (Stream<String> lines = Files.lines(procs)) {
            return lines.map(String::trim).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
        } catch (IOException | NumberFormatException e) {
            return List.of();
        }
    }

    /** Peak memory use so far, in bytes (0 if unknown). */
    public long peakBytes() {
        Path file = dir.resolve(KIND == Kind.V1 ? "memory.max_usage_in_bytes" : "memory.peak");
        try {
            return Long.parseLong(Files.readString(file).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Whether the memory limit was hit hard enough for the kernel to kill a process of the environment. */
    public boolean oomKilled() {
        Path events = dir.resolve(KIND == Kind.V1 ? "memory.oom_control" : "memory.events");
        try {
            for (String line : Files.readAllLines(events)) {
                if (line.startsWith("oom_kill ") && Long.parseLong(line.substring("oom_kill ".length()).trim()) > 0) {
                    return true;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }

    /** Kills every process in the environment's cgroups; returns whether none is left. */
    public boolean killAll() {
        boolean frozen = freezerDir != null && freeze(freezerDir);
        pids(procs()).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        if (freezerDir != null) {
            thaw(freezerDir); // a frozen process dies of SIGKILL only once thawed
        }
        boolean empty = killAll(dir) & (pidsDir == null || killAll(pidsDir));
        if (!frozen && freezerDir != null) {
            LOG.debug("freezer {} did not freeze in time; killed until empty", freezerDir);
        }
        return empty;
    }

    /** Freezes every process of the cgroup; true once the kernel says FROZEN. */
    private static boolean freeze(Path freezer) {
        try {
            Files.writeString(freezer.resolve("freezer.state"), "FROZEN");
            long deadline = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < deadline) {
                if (Files.readString(freezer.resolve("freezer.state")).trim().equals("FROZEN")) {
                    return true;
                }
                LockSupport.parkNanos(EXIT_POLL_NANOS); // FREEZING until every task has stopped
            }
        } catch (IOException e) {
            LOG.debug("freezing {}: {}", freezer, e.getMessage());
        }
        return false;
    }

    private static void thaw(Path freezer) {
        try {
            Files.writeString(freezer.resolve("freezer.state"), "THAWED");
        } catch (IOException e) {
            LOG.debug("thawing {}: {}", freezer, e.getMessage());
        }
    }

    private static boolean killAll(Path dir) {
        Path kill = dir.resolve("cgroup.kill");
        if (KIND == Kind.V2 && Files.exists(kill)) {
            try {
                Files.writeString(kill, "1");
            } catch (IOException e) {
                LOG.debug("cgroup.kill of {}: {}", dir, e.getMessage());
            }
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        List<Long> left = pids(dir.resolve("cgroup.procs"));
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            LockSupport.parkNanos(EXIT_POLL_NANOS); // killed processes take a moment to leave the cgroup
            left = pids(dir.resolve("cgroup.procs"));
        }
        if (!left.isEmpty()) {
            LOG.warn("cgroup {} still has processes {} after SIGKILL", dir, left);
        }
        return left.isEmpty();
    }

    /** Kills what is left and removes the cgroups. */
    public void delete() {
        killAll();
        delete(dir);
        for (Path d : new Path[] {pidsDir, freezerDir}) {
            if (d != null) {
                delete(d);
            }
        }
    }

    /** Removes a cgroup directory, retrying while its last process exits. */
    public static void delete(Path dir) {
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

    /** Kills the processes of, and removes, one cgroup {@link #create} made, wherever its owner's run made it. */
    public static void deleteOne(String worker, String name) {
        for (Path parent : new Path[] {freezerParent(worker), parent(worker), pidsParent(worker)}) {
            if (parent != null && Files.isDirectory(parent.resolve(name))) {
                Path child = parent.resolve(name);
                if (Files.exists(child.resolve("freezer.state"))) {
                    thaw(child);
                }
                killAll(child);
                delete(child);
            }
        }
    }

    /**
     * Kills the processes of, and removes, every environment cgroup a previous run of this worker
     * left behind, and the worker's parents (made again by the next {@link #create}).
     */
    public static void deleteLeftovers(String worker) {
        List<Path> parents = new ArrayList<>();
        parents.add(freezerParent(worker)); // thawed and emptied as the others are
        parents.add(parent(worker));
        parents.add(pidsParent(worker));
        for (Path parent : parents) {
            if (parent == null || !Files.isDirectory(parent)) {
                continue;
            }
            try (Stream<Path> children = Files.list(parent)) {
                children.filter(Files::isDirectory).forEach(child -> {
                    if (Files.exists(child.resolve("freezer.state"))) {
                        thaw(child); // a crash may have left it frozen
                    }
                    killAll(child);
                    delete(child);
                });
            } catch (IOException e) {
                LOG.warn("listing {}: {}", parent, e.getMessage());
            }
            delete(parent); // the worker's own parent goes too: a stopped worker leaves no cgroup
        }
    }
}
