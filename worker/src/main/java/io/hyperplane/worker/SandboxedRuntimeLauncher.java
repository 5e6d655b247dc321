package io.hyperplane.worker;

import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.cgroup.TenantCpu;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.linux.sandbox.Sandbox;
import io.hyperplane.linux.sandbox.SyscallFilter;
import io.hyperplane.runtime.InitOutcome;
import io.hyperplane.runtime.LaunchSpec;
import io.hyperplane.runtime.RuntimeApiServer;
import io.hyperplane.runtime.RuntimeLaunchException;
import io.hyperplane.runtime.Runtimes;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts a function's runtime as Lambda runs it, in the environment's network namespace: the Lambda
 * Runtime API on 127.0.0.1:9001 inside it, and the runtime as a user of its own with no capabilities,
 * in a memory cgroup sized by MemorySize, in a sandbox (bubblewrap and a system-call filter, see
 * {@link Sandbox}) that sees its unpacked code at /var/task, its own /tmp, and an /etc/resolv.conf naming
 * its network's resolver (its VPC's AmazonProvidedDNS, or the service's resolver outside a VPC).
 *
 * <p>The environment's directory, {@code /run/hyperplane/environments/WORKER/ID}, is root's alone: the
 * code and bubblewrap's arguments (the function's variables) are unreachable from the host's other users.
 */
final class SandboxedRuntimeLauncher implements RuntimeLauncher {
    /** What the function sees as its host name: nothing of the machine's. */
    static final String HOSTNAME = "localhost";
    /** Lambda's quota: "File descriptors: 1,024" per execution environment. */
    static final int MAX_OPEN_FILES = 1024;

    private final String worker;
    private final Path environmentsRoot;
    private final Duration initTimeout;
    private final CodePackage code = CodePackage.lambdas();

    SandboxedRuntimeLauncher(WorkerSettings settings) {
        this.worker = settings.name();
        this.environmentsRoot = settings.environmentsRoot();
        this.initTimeout = settings.initTimeout();
    }

    /** Code, Runtime API, cgroup and sandbox, the process, then init up to the runtime's first /next. */
    @Override
    public Launched launch(Launch launch) throws IOException, InterruptedException, InitFailedException {
        long t0 = System.nanoTime();
        FunctionConfig f = launch.function();
        String namespace = launch.id();
        Path dir = environmentsRoot.resolve(launch.id());
        Path task = dir.resolve("task");
        RuntimeApiServer api = null;
        EnvironmentCgroup cgroup = null;
        Process process = null;
        ProcessLog log = null;
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.createDirectory(task);
            Files.setPosixFilePermissions(task, PosixFilePermissions.fromString("rwxr-xr-x")); // whatever the umask: the function reads it
            code.unpack(launch.code(), task);
            api = NetworkNamespace.call(namespace, () -> RuntimeApiServer.start(new InetSocketAddress("127.0.0.1", ExecutionEnvironment.RUNTIME_API_PORT)));
            LaunchSpec spec;
            Path runtime = runtimeDir();
            try {
                // The runtimes' own files (the python bootstrap, the Java client's jars and JNI library) in the worker's
                // directory, which it removes when it stops or, after a crash, when it starts again; the function sees
                // them at /var/runtime, its code at /var/task and its own /tmp.
                spec = Runtimes.launch(f.runtime(), new Runtimes.Layout(task, runtime, Sandbox.TASK_ROOT, Sandbox.RUNTIME_DIR, Sandbox.TMP),
                        f.handler() == null ? "bootstrap" : f.handler(), f.memoryMb());
            } catch (RuntimeLaunchException e) {
                throw InitFailedException.of(e.errorType(), e.getMessage(), e.getMessage(), "");
            }
            cgroup = EnvironmentCgroup.create(worker, launch.id(), (long) f.memoryMb() * 1024 * 1024);
            Map<String, String> environment = LambdaVariables.of(f);
            environment.putAll(spec.extraEnvironment());
            Sandbox sandbox = new Sandbox(HOSTNAME, task, runtime, (long) f.ephemeralStorageMb() * 1024 * 1024, launch.uid(), environment,
                    spec.command(), outsideUsr(spec.command().getFirst()), f.nameserver());
            sandbox.prepare(dir);
            // The root shell joins the environment's cgroups and sets Lambda's open-file quota (soft and hard, so the
            // function cannot raise it), then becomes bubblewrap. Tenant code initialises at nice 10, then runs in the
            // worker's idle CPU group (TenantCpu), below the system that serves it. It cannot undo either.
            String prelude = Sandbox.joinCgroups(cgroup == null ? List.of() : cgroup.procsFiles()) + " && ulimit -n " + MAX_OPEN_FILES + " && ";
            // The launch starts from a thread inside the environment's network namespace, so every process of it is
            // there from its first instruction, without a command to enter it (bubblewrap makes the mount namespace).
            List<String> command = sandbox.launchCommand(prelude, List.of("nice", "-n", Integer.toString(TenantCpu.INIT_NICE)), dir,
                    seccompFilter());
            // A fixed environment and a working directory the tenant does not control for every root-run step:
            // the function's own variables (LD_PRELOAD among them) reach only its process (Sandbox).
            ProcessBuilder pb = new ProcessBuilder(command).directory(Path.of("/").toFile()).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.environment().put("LANG", "C");
            process = NetworkNamespace.call(namespace, pb::start);
            long t2 = System.nanoTime();
            log = new ProcessLog(process.getInputStream(), ProcessLog.openPipeOf(process), Sandbox.READY_LINE).start("hp-log-" + launch.id());
            InitOutcome init = awaitInit(api, process);
            long t3 = System.nanoTime();
            if (init == null) {
                String message = "RequestId: " + launch.requestId() + " Error: Runtime exited with error: exit status " + process.exitValue();
                throw InitFailedException.of("Runtime.ExitError", message, message, log.catchUpAndDrain() + message + "\n");
            }
            switch (init) {
                case InitOutcome.Ready ready -> {
                    TenantCpu.toIdle(worker, cgroup, process.toHandle());
                    // Process start: files, Runtime API and the spawn; sandbox: until the sandbox's ready line; then the runtime's init.
                    return Launched.timed(new SandboxedRuntime(worker, namespace, dir, process, api, cgroup, log), t0, t2, t3,
                            log.sandboxReadyNanos());
                }
                case InitOutcome.InitError error -> throw new InitFailedException(error.errorType(), error.errorMessage(),
                        new String(error.rawBody(), StandardCharsets.UTF_8), log.drain());
                case InitOutcome.TimedOut timedOut -> throw InitFailedException.of("Runtime.InitTimeout", "Init timed out after "
                        + initTimeout.toSeconds() + " seconds", "Init timed out", log.drain());
            }
        } catch (IOException | InterruptedException | InitFailedException | RuntimeException e) {
            SandboxedRuntime.kill(process, cgroup, namespace);
            if (api != null) {
                api.close();
            }
            if (log != null) {
                log.close();
            }
            if (cgroup != null) {
                cgroup.delete();
            }
            FileTrees.delete(dir);
            throw e;
        }
    }

    /**
     * Init's outcome, or null if the process exited before finishing it: whichever of the two comes first,
     * waited for together, within the init timeout.
     */
    private InitOutcome awaitInit(RuntimeApiServer api, Process process) throws InterruptedException {
        CompletableFuture<InitOutcome> init = api.initOutcome();
        try {
            CompletableFuture.anyOf(init, process.onExit()).get(initTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return init.getNow(new InitOutcome.TimedOut());
        } catch (ExecutionException e) {
            throw new IllegalStateException("neither init nor a process exit fails", e);
        }
        return init.getNow(null); // done, or the process exited first (it may have finished init just before: then done too)
    }

    /**
     * A JDK outside /usr (an unusual install) is bound read-only at its own path; everything under
     * /usr is in every sandbox already.
     */
    private static List<Path> outsideUsr(String executable) {
        Path program = Path.of(executable);
        if (!program.isAbsolute() || program.startsWith("/usr") || program.startsWith(Sandbox.TASK_ROOT) || program.startsWith(Sandbox.RUNTIME_DIR)
                || program.getParent() == null || program.getParent().getParent() == null || program.getParent().getParent().getParent() == null) {
            return List.of(); // never the whole root: /bin/java's "home" would be /
        }
        return List.of(program.getParent().getParent());
    }

    /** The worker's compiled system-call filter, written once per worker run. */
    private synchronized Path seccompFilter() throws IOException {
        Path file = environmentsRoot.resolve("seccomp.bpf");
        if (!Files.isRegularFile(file)) {
            SyscallFilter.write(file);
        }
        return file;
    }

    private Path runtimeDir() throws IOException {
        Path dir = environmentsRoot.resolve("runtime");
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return dir;
    }
}
