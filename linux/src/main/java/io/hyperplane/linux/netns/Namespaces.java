package io.hyperplane.linux.netns;

import io.hyperplane.linux.exec.CommandFailedException;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Named network namespaces, always addressed by exact name: list, processes inside, delete. */
public final class Namespaces {
    private static final Duration POLL = Duration.ofMillis(20);
    private static final Duration AFTER_KILL = Duration.ofSeconds(1);

    private Namespaces() {
    }

    /** Names of every named namespace on the machine ({@code ip netns list}). */
    public static Set<String> list() {
        ExecResult result = Commands.check(ip(), "netns", "list");
        Set<String> names = new LinkedHashSet<>();
        for (String line : result.stdout().split("\n")) {
            String name = line.strip();
            if (!name.isEmpty()) {
                int space = name.indexOf(' '); // "hp-ee1 (id: 3)"
                names.add(space < 0 ? name : name.substring(0, space));
            }
        }
        return names;
    }

    public static void add(String name) {
        Commands.check(ip(), "netns", "add", name);
    }

    /** Processes whose network namespace is {@code name}; empty when it does not exist. */
    public static List<Long> pids(String name) {
        ExecResult result = Commands.run(Commands.DEFAULT_TIMEOUT, List.of(ip(), "netns", "pids", name));
        List<Long> pids = new ArrayList<>();
        if (result.ok()) {
            for (String line : result.stdout().split("\n")) {
                if (!line.isBlank()) {
                    pids.add(Long.parseLong(line.strip()));
                }
            }
        }
        return pids;
    }

    /**
     * Ends every process in the given namespaces: SIGTERM, up to {@code grace} to exit, then
     * SIGKILL. Never signals this JVM.
     *
     * @return how many processes were signalled
     */
    public static int killProcesses(Collection<String> names, Duration grace) throws InterruptedException {
        long self = ProcessHandle.current().pid();
        List<ProcessHandle> victims = new ArrayList<>();
        for (String name : names) {
            for (long pid : pids(name)) {
                if (pid != self) {
                    ProcessHandle.of(pid).ifPresent(victims::add);
                }
            }
        }
        victims.forEach(ProcessHandle::destroy);
        awaitExit(victims, grace);
        victims.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        awaitExit(victims, AFTER_KILL);
        return victims.size();
    }

    /**
     * Deletes the namespace by exact name.
     *
     * @return false if it did not exist
     */
    public static boolean delete(String name) {
        ExecResult result = Commands.run(Commands.DEFAULT_TIMEOUT, List.of(ip(), "netns", "delete", name));
        if (result.ok()) {
            return true;
        }
        if (result.stderr().contains("No such file or directory")) {
            return false;
        }
        throw new CommandFailedException(result, "exit code " + result.exitCode());
    }

    /** {@code ip -n NAME ARGS...}: an ip command that acts inside the namespace, never in the root one. */
    public static List<String> ipIn(String name, String... args) {
        List<String> command = new ArrayList<>(List.of(ip(), "-n", name));
        command.addAll(List.of(args));
        return command;
    }

    /** {@code ip netns exec NAME COMMAND...}: any program, run inside the namespace. */
    public static List<String> execIn(String name, List<String> command) {
        List<String> full = new ArrayList<>(List.of(ip(), "netns", "exec", name));
        full.addAll(command);
        return full;
    }

    private static String ip() {
        return Tools.command(Tool.IP);
    }

    private static void awaitExit(List<ProcessHandle> processes, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (processes.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() - deadline < 0) {
            Thread.sleep(POLL);
        }
    }
}
