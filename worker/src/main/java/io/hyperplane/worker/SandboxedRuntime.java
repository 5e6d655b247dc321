package io.hyperplane.worker;

import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.cgroup.TenantCpu;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.runtime.Invocation;
import io.hyperplane.runtime.InvocationOutcome;
import io.hyperplane.runtime.RuntimeApiServer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A runtime running in its sandbox (see {@link SandboxedRuntimeLauncher}): the launch chain's process,
 * the environment's Runtime API, its cgroup (null where cgroups are unavailable), its private directory
 * and its output.
 */
final class SandboxedRuntime implements RuntimeProcess {
    /** How long a teardown waits for the killed launch chain to be reaped. */
    private static final Duration REAP_WAIT = Duration.ofSeconds(2);

    private final String worker;
    private final String namespace;
    private final Path dir;
    private final Process process;
    private final RuntimeApiServer api;
    private final EnvironmentCgroup cgroup;
    private final ProcessLog log;
    /** Invocations run one at a time, each after the pool's lock has handed the environment over. */
    private boolean ranBefore;

    SandboxedRuntime(String worker, String namespace, Path dir, Process process, RuntimeApiServer api, EnvironmentCgroup cgroup, ProcessLog log) {
        this.worker = worker;
        this.namespace = namespace;
        this.dir = dir;
        this.process = process;
        this.api = api;
        this.cgroup = cgroup;
        this.log = log;
    }

    @Override
    public Ending run(Invocation invocation, Duration timeout) throws InterruptedException {
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation);
        Object done;
        boolean timedOut = false;
        try {
            done = CompletableFuture.anyOf(outcome, process.onExit()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            done = null;
            timedOut = true;
        } catch (ExecutionException e) {
            done = null;
        }
        if (!ranBefore) {
            ranBefore = true;
            TenantCpu.toIdle(worker, cgroup, process.toHandle()); // processes started while init's were being moved
        }
        if (timedOut) {
            api.abandon(invocation.requestId());
            return new Ending.TimedOut();
        }
        if (done instanceof InvocationOutcome answered) {
            return new Ending.Answered(answered);
        }
        int status = process.isAlive() ? -1 : process.exitValue();
        boolean outOfMemory = cgroup != null && cgroup.oomKilled();
        api.abandon(invocation.requestId());
        return new Ending.Exited(status, outOfMemory);
    }

    @Override
    public String drainLog() {
        return log.drain();
    }

    @Override
    public String catchUpAndDrainLog() throws InterruptedException {
        return log.catchUpAndDrain();
    }

    @Override
    public long maxMemoryMb() {
        if (cgroup != null) {
            return Math.max(1, cgroup.peakBytes() / (1024 * 1024));
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    @Override
    public boolean alive() {
        return process.isAlive();
    }

    @Override
    public boolean destroy() {
        boolean gone = kill(process, cgroup, namespace);
        api.close();
        log.close();
        if (cgroup != null) {
            cgroup.delete();
        }
        FileTrees.delete(dir);
        return gone;
    }

    /**
     * Kills every process of an environment (also one whose launch failed: {@code process} may be null), through
     * the cgroup first: whatever sessions or namespaces the function made, its processes are all in it.
     *
     * @return whether they are all gone
     */
    static boolean kill(Process process, EnvironmentCgroup cgroup, String namespace) {
        if (cgroup != null) {
            cgroup.killAll();
        }
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        try {
            Namespaces.killProcesses(List.of(namespace), Duration.ZERO);
            if (process != null) {
                process.waitFor(REAP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return cgroup == null ? process == null || !process.isAlive() : cgroup.pids().isEmpty();
    }
}
