package io.hyperplane.e2e;

import io.hyperplane.lab.Lab;
import io.hyperplane.linux.netns.Namespaces;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a run of the system left on the host outside its data directory (issue 15, "stopping at any
 * moment leaves nothing"): network namespaces and lab state with its names, processes that name
 * them or its data directory (or that it started and are still alive), its workers' cgroups and
 * uid leases, mounts that name any of these, files in its private temporary directory, and the
 * JVMs' performance-data files of the processes it started.
 *
 * @param namePrefixes what the run's namespaces, lab state and mounts start with ("hp-up-", "hp-ee-w-")
 * @param workers      the run's workers' names: their cgroups ("hyperplane-NAME") and uid leases
 * @param tmp          the run's TMPDIR / java.io.tmpdir, which it must leave empty
 */
record HostLeftovers(Path dataDir, List<String> namePrefixes, List<String> workers, Path tmp) {
    private static final Path CGROUPS = Path.of("/sys/fs/cgroup");
    private static final Path PERF_DATA = Path.of("/tmp/hsperfdata_root");

    /** Everything left, one line each; empty when the host is as it was. */
    List<String> find(Collection<Long> startedPids) {
        List<String> left = new ArrayList<>();
        for (String ns : Namespaces.list()) {
            if (named(ns)) {
                left.add("namespace " + ns);
            }
        }
        for (Path state : list(Lab.DEFAULT_STATE_ROOT)) {
            if (named(state.getFileName().toString())) {
                left.add("lab state " + state);
            }
        }
        String self = Long.toString(ProcessHandle.current().pid());
        for (Path proc : list(Path.of("/proc"))) {
            String pid = proc.getFileName().toString();
            if (!pid.chars().allMatch(Character::isDigit) || pid.equals(self)) {
                continue;
            }
            String command = read(proc.resolve("cmdline")).replace('\0', ' ');
            if (command.contains(dataDir.toString()) || namePrefixes.stream().anyMatch(command::contains)) {
                left.add("process " + pid + ": " + command);
            }
        }
        for (long pid : startedPids) {
            // A zombie has released everything it held; only its exit status waits, for init when its parent
            // is gone (a sandbox's bwrap killed with its worker), and init collects it within moments.
            if (running(pid)) {
                left.add("process " + pid + " (started by the run): " + read(Path.of("/proc", Long.toString(pid), "stat")));
            }
            if (Files.exists(PERF_DATA.resolve(Long.toString(pid)))) {
                left.add("file " + PERF_DATA.resolve(Long.toString(pid)));
            }
        }
        for (Path controller : list(CGROUPS)) {
            for (String worker : workers) {
                Path group = controller.getFileName().toString().equals("hyperplane-" + worker) ? controller
                        : controller.resolve("hyperplane-" + worker);
                if (Files.isDirectory(group)) {
                    left.add("cgroup " + group);
                }
            }
        }
        try {
            for (String worker : workers) {
                UidLeaseFiles.held(worker).forEach(uid -> left.add("uid lease " + uid + " of worker " + worker));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (String mount : read(Path.of("/proc/self/mountinfo")).split("\n")) {
            if (mount.contains(dataDir.toString()) || namePrefixes.stream().anyMatch(mount::contains)) {
                left.add("mount " + mount);
            }
        }
        list(tmp).forEach(file -> left.add("file " + file));
        return left;
    }

    /** Alive and not a zombie. */
    static boolean running(long pid) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isPresent() && !zombie(pid);
    }

    /** State Z in /proc/PID/stat, after the command name in parentheses. */
    private static boolean zombie(long pid) {
        String stat = read(Path.of("/proc", Long.toString(pid), "stat"));
        int end = stat.lastIndexOf(") ");
        return end < 0 || stat.startsWith("Z", end + 2);
    }

    private boolean named(String name) {
        return namePrefixes.stream().anyMatch(name::startsWith);
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A /proc file; empty if its process is gone. */
    private static String read(Path file) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            return ""; // a process that exits while read
        }
    }
}
