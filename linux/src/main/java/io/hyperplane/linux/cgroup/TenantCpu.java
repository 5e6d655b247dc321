package io.hyperplane.linux.cgroup;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Where function processes get the CPU: below the system that serves them.
 * <p>
 * A runtime starts at nice {@link #INIT_NICE} in the worker's own scheduling group, so its init
 * runs promptly (Lambda's init phase also gets more CPU than its invoke phase). Once init is done,
 * the worker moves every process of the environment into one CPU cgroup per worker, directly
 * under the root and marked {@code cpu.idle}: the kernel schedules it as SCHED_IDLE, so any of
 * the system's threads that wakes (the worker, the forwarder nodes, the control plane) takes the
 * CPU from it at once. A runtime compiling or spinning after its init therefore never delays the
 * next cold start's network attach or the forwarding of packets, yet it still gets every cycle
 * the system leaves. Per-thread priorities could not do this: with the kernel's session
 * autogroups (on by default), nice values only order threads within one session, and a function
 * could start a session of its own. Processes in a cgroup are outside autogroups, a child stays
 * in its parent's cgroup, and a function cannot leave: the cgroup files are root's and not even
 * visible in its mount namespace.
 * <p>
 * cgroup v1 (this machine's kind): {@code /sys/fs/cgroup/cpu/hyperplane-WORKER}. cgroup v2: the
 * worker's cgroup of environment cgroups is itself marked {@code cpu.idle} at the first init done,
 * so from then on runtimes are idle from their start (no faster init). Without a cpu controller
 * that has {@code cpu.idle} they keep nice 10.
 */
public final class TenantCpu {
    private static final Logger LOG = LoggerFactory.getLogger(TenantCpu.class);
    /** The nice value function processes start (and initialise) at: below the system's own. */
    public static final int INIT_NICE = 10;
    private static final Path V1 = Path.of("/sys/fs/cgroup/cpu");
    private static final Path V2 = Path.of("/sys/fs/cgroup");

    private enum Kind { V1, V2, NONE }

    private static final Kind KIND = detect();

    private TenantCpu() {
    }

    private static Kind detect() {
        if (Files.isRegularFile(V1.resolve("cpu.idle"))) {
            return Kind.V1;
        }
        try {
            if (Files.isRegularFile(V2.resolve("cgroup.subtree_control")) && Files.readString(V2.resolve("cgroup.subtree_control")).contains("cpu")) {
                return Kind.V2;
            }
        } catch (IOException e) {
            LOG.debug("cgroup v2 unreadable: {}", e.getMessage());
        }
        LOG.warn("no cgroup cpu controller found: function processes run at nice {}, not idle", INIT_NICE);
        return Kind.NONE;
    }

    /** The worker's idle group (v1), null elsewhere. */
    public static Path group(String worker) {
        return KIND == Kind.V1 ? V1.resolve("hyperplane-" + worker) : null;
    }

    /**
     * Moves the environment's processes (those of its memory cgroup, or {@code process} and its
     * descendants without one) to the worker's idle group, making it if needed. Returns how many
     * were moved; failures are logged, and the processes then keep their nice value.
     */
    public static int toIdle(String worker, EnvironmentCgroup memory, ProcessHandle process) {
        try {
            return switch (KIND) {
                case V1 -> {
                    Path group = group(worker);
                    if (!Files.isRegularFile(group.resolve("cpu.idle"))) {
                        Files.createDirectories(group);
                        Files.writeString(group.resolve("cpu.idle"), "1");
                    }
                    int moved = 0;
                    for (long pid : memory != null ? memory.pids() : Stream.concat(Stream.of(process), process.descendants())
                            .map(ProcessHandle::pid).toList()) {
                        try {
                            Files.writeString(group.resolve("cgroup.procs"), Long.toString(pid)); // all of its threads
                            moved++;
                        } catch (IOException e) {
                            LOG.debug("process {} not moved (exited?): {}", pid, e.getMessage());
                        }
                    }
                    yield moved;
                }
                case V2 -> {
                    Path parent = EnvironmentCgroup.parent(worker);
                    if (parent != null && Files.isRegularFile(parent.resolve("cpu.idle")) && !Files.readString(parent.resolve("cpu.idle")).trim().equals("1")) {
                        Files.writeString(parent.resolve("cpu.idle"), "1");
                    }
                    yield 0;
                }
                case NONE -> 0;
            };
        } catch (IOException e) {
            LOG.warn("moving the processes of {} to the idle CPU group: {}", process.pid(), e.getMessage());
            return 0;
        }
    }

    /** Removes the worker's idle group (its processes must have exited); nothing if there is none. */
    public static void delete(String worker) {
        Path group = group(worker);
        if (group != null && Files.isDirectory(group)) {
            EnvironmentCgroup.delete(group);
        }
    }
}
