package io.hyperplane.worker;

import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.cgroup.TenantCpu;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.runtime.InitOutcome;
import io.hyperplane.runtime.Invocation;
import io.hyperplane.runtime.LaunchSpec;
import io.hyperplane.runtime.RuntimeLaunchException;
import io.hyperplane.runtime.InvocationOutcome;
import io.hyperplane.runtime.RuntimeApiServer;
import io.hyperplane.runtime.Runtimes;
import io.hyperplane.linux.sandbox.Sandbox;
import io.hyperplane.linux.sandbox.SyscallFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * One execution environment: a network namespace tunnelled to the forwarder nodes, the Lambda
 * Runtime API on 127.0.0.1:9001 inside it, and the function's process running there as a user of
 * its own with no capabilities, in a memory cgroup sized by MemorySize, in a working directory
 * holding the unpacked code. One invocation at a time.
 */
final class ExecutionEnvironment {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutionEnvironment.class);
    static final int RUNTIME_API_PORT = 9001;
    /** Lambda's quota for a deployment package unzipped (250 MB): the control plane refuses more, the worker checks again. */
    static final long MAX_CODE_BYTES = 262_144_000L;
    /** Files in one package: far more than any real function has, few enough that unpacking stays cheap. */
    static final int MAX_CODE_ENTRIES = 100_000;
    /** Lambda's quota: "File descriptors: 1,024" per execution environment. */
    static final int MAX_OPEN_FILES = 1024;
    /** What the function sees as its host name: nothing of the machine's. */
    static final String HOSTNAME = "localhost";
    private static final int LOG_LIMIT = 256 * 1024;

    /** Milliseconds of each cold-start phase. */
    record Phases(double networkAttachMs, double processStartMs, double sandboxMs, double runtimeInitMs, double eniCreationMs,
                  boolean eniThrottled) {
        double initMs() {
            return processStartMs + (Double.isNaN(sandboxMs) ? 0 : sandboxMs) + runtimeInitMs;
        }
    }

    /** An invocation's result as the worker reports it to the control plane; {@code functionError} null: the function succeeded. */
    record Result(byte[] payload, String functionError, String log, boolean fatal) {
    }

    private final String worker;
    final String id;
    final int uid;
    final String key;
    final InvokeRequest function;
    final EnvironmentNetwork network;
    private Phases phases;
    private final Path dir;
    private final Process process;
    private final RuntimeApiServer runtimeApi;
    private final EnvironmentCgroup cgroup;
    private final StringBuilder log = new StringBuilder();
    private volatile long lastUsedNanos = System.nanoTime();
    /** When the sandbox said it was made (its ready line arrived); 0 until then, -1 if its first output was something else. */
    private volatile long sandboxReadyNanos;
    private boolean firstInvocation = true;

    private ExecutionEnvironment(String worker, String id, int uid, InvokeRequest function, EnvironmentNetwork network, Path dir, Process process,
                                 RuntimeApiServer runtimeApi, EnvironmentCgroup cgroup) {
        this.worker = worker;
        this.id = id;
        this.uid = uid;
        this.key = function.environmentKey();
        this.function = function;
        this.network = network;
        this.dir = dir;
        this.process = process;
        this.runtimeApi = runtimeApi;
        this.cgroup = cgroup;
    }

    /** Thrown when the runtime fails to initialise: Lambda reports it as the invocation's function error. */
    static final class InitFailed extends Exception {
        final String errorType;
        final String body;
        final String log;

        InitFailed(String errorType, String message, String body, String log) {
            super(message);
            this.errorType = errorType;
            this.body = body;
            this.log = log;
        }
    }

    /**
     * A cold start: network (already attached by the caller, who measured it), code, Runtime API,
     * process, and init up to the runtime's first /next. On failure everything made is removed.
     */
    static ExecutionEnvironment start(WorkerSettings w, String id, int uid, InvokeRequest f, EnvironmentNetwork network, double attachMs,
                                      double[] eniCreation, byte[] zip) throws IOException, InterruptedException, InitFailed {
        long t0 = System.nanoTime();
        // Root's alone: the code and bwrap's arguments (the function's variables) are unreachable from the host's
        // other users; the function sees its code only through the sandbox's read-only /var/task.
        Path dir = w.environmentsRoot().resolve(id);
        Path task = dir.resolve("task");
        RuntimeApiServer api = null;
        EnvironmentCgroup cgroup = null;
        Process process = null;
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.createDirectory(task);
            Files.setPosixFilePermissions(task, PosixFilePermissions.fromString("rwxr-xr-x")); // whatever the umask: the function reads it
            unzip(zip, task);
            api = NetworkNamespace.call(network.namespace(), () -> RuntimeApiServer.start(new InetSocketAddress("127.0.0.1", RUNTIME_API_PORT)));
            LaunchSpec launch;
            Path runtime = runtimeDir(w);
            try {
                // The runtimes' own files (the python bootstrap, the Java client's jars and JNI library) in the worker's
                // directory, which it removes when it stops or, after a crash, when it starts again; the function sees
                // them at /var/runtime, its code at /var/task and its own /tmp.
                launch = Runtimes.launch(f.runtime(), new Runtimes.Layout(task, runtime, Sandbox.TASK_ROOT, Sandbox.RUNTIME_DIR, Sandbox.TMP),
                        f.handler() == null ? "bootstrap" : f.handler(), f.memoryMb());
            } catch (RuntimeLaunchException e) {
                throw new InitFailed(e.errorType(), e.getMessage(), errorJson(e.errorType(), e.getMessage()), "");
            }
            cgroup = EnvironmentCgroup.create(w.name(), id, (long) f.memoryMb() * 1024 * 1024);
            Map<String, String> environment = environment(f);
            environment.putAll(launch.extraEnvironment());
            Sandbox sandbox = new Sandbox(HOSTNAME, task, runtime, (long) f.ephemeralStorageMb() * 1024 * 1024, uid, environment,
                    launch.command(), outsideUsr(launch.command().getFirst()));
            sandbox.prepare(dir);
            // The root shell joins the environment's cgroups and sets Lambda's open-file quota (soft and hard, so the
            // function cannot raise it), then becomes bubblewrap. Tenant code initialises at nice 10, then runs in the
            // worker's idle CPU group (TenantCpu), below the system that serves it. It cannot undo either.
            String prelude = Sandbox.joinCgroups(cgroup == null ? List.of() : cgroup.procsFiles()) + " && ulimit -n " + MAX_OPEN_FILES + " && ";
            // The launch starts from a thread inside the environment's network namespace, so every process of it is
            // there from its first instruction, without a command to enter it (bubblewrap makes the mount namespace).
            List<String> command = sandbox.launchCommand(prelude, List.of("nice", "-n", Integer.toString(TenantCpu.INIT_NICE)), dir,
                    seccompFilter(w));
            // A fixed environment and a working directory the tenant does not control for every root-run step:
            // the function's own variables (LD_PRELOAD among them) reach only its process (Sandbox).
            ProcessBuilder pb = new ProcessBuilder(command).directory(Path.of("/").toFile()).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.environment().put("LANG", "C");
            long t1 = System.nanoTime();
            process = NetworkNamespace.call(network.namespace(), pb::start);
            long t2 = System.nanoTime();
            ExecutionEnvironment ee = new ExecutionEnvironment(w.name(), id, uid, f, network, dir, process, api, cgroup);
            ee.readLog();
            InitOutcome init = awaitInit(api, process, w.initTimeout());
            long t3 = System.nanoTime();
            if (init == null) {
                Thread.sleep(5);
                String message = "RequestId: " + f.requestId() + " Error: Runtime exited with error: exit status " + process.exitValue();
                throw new InitFailed("Runtime.ExitError", message, errorJson("Runtime.ExitError", message), ee.drainLog() + message + "\n");
            }
            switch (init) {
                case InitOutcome.Ready ready -> {
                    TenantCpu.toIdle(w.name(), cgroup, process.toHandle());
                    // Process start: files, Runtime API and the spawn; sandbox: until the sandbox's ready line; then the runtime's init.
                    long made = ee.sandboxReadyNanos;
                    double sandboxMs = made > 0 ? (made - t2) / 1e6 : Double.NaN;
                    ee.phases = new Phases(attachMs, (t2 - t0) / 1e6, sandboxMs, (made > 0 ? t3 - made : t3 - t2) / 1e6, eniCreation[0],
                            eniCreation[1] > 0);
                    return ee;
                }
                case InitOutcome.InitError error -> throw new InitFailed(error.errorType(), error.errorMessage(),
                        new String(error.rawBody(), StandardCharsets.UTF_8), ee.drainLog());
                case InitOutcome.TimedOut timedOut -> throw new InitFailed("Runtime.InitTimeout", "Init timed out after "
                        + w.initTimeout().toSeconds() + " seconds", errorJson("Runtime.InitTimeout", "Init timed out"), ee.drainLog());
            }
        } catch (IOException | InterruptedException | InitFailed | RuntimeException e) {
            kill(process, cgroup, network.namespace());
            if (api != null) {
                api.close();
            }
            if (cgroup != null) {
                cgroup.delete();
            }
            deleteTree(dir);
            throw e;
        }
    }

    private void readLog() {
        // Chunks, not lines: a runtime's logger may write without a newline (Java's LambdaLogger.log).
        Thread.ofPlatform().daemon().name("hp-log-" + id).start(() -> {
            try (InputStreamReader reader = new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) {
                char[] chunk = new char[8192];
                int n;
                while ((n = reader.read(chunk)) > 0) {
                    long now = System.nanoTime();
                    synchronized (log) {
                        log.append(chunk, 0, n);
                        if (sandboxReadyNanos == 0) {
                            sandboxReady(now);
                        }
                        if (log.length() > LOG_LIMIT) {
                            log.delete(0, log.length() - LOG_LIMIT / 2);
                        }
                    }
                }
            } catch (IOException e) {
                LOG.debug("log of {} ended: {}", id, e.getMessage());
            }
        });
    }

    /** Takes the sandbox's ready line off the start of the log, noting when it came (called holding the log's lock). */
    private void sandboxReady(long now) {
        String ready = Sandbox.READY_LINE + "\n";
        if (log.length() >= ready.length() && log.substring(0, ready.length()).equals(ready)) {
            log.delete(0, ready.length());
            sandboxReadyNanos = now;
        } else if (log.length() >= ready.length() || !ready.startsWith(log.toString())) {
            sandboxReadyNanos = -1; // bubblewrap's own error, say: the log keeps it
        }
    }

    /** Text written since the last call, ending with a newline when there is any. */
    private String drainLog() {
        synchronized (log) {
            String text = log.toString();
            log.setLength(0);
            return text.isEmpty() || text.endsWith("\n") ? text : text + "\n";
        }
    }

    Phases phases() {
        return phases;
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
    static Path seccompFilter(WorkerSettings w) throws IOException {
        Path file = w.environmentsRoot().resolve("seccomp.bpf");
        synchronized (ExecutionEnvironment.class) {
            if (!Files.isRegularFile(file)) {
                SyscallFilter.write(file);
            }
        }
        return file;
    }

    private static Path runtimeDir(WorkerSettings w) throws IOException {
        Path dir = w.environmentsRoot().resolve("runtime");
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return dir;
    }

    /** Init's outcome, or null if the process exited before finishing init. */
    private static InitOutcome awaitInit(RuntimeApiServer api, Process process, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            InitOutcome outcome = api.awaitInit(java.time.Duration.ofNanos(Math.max(0, Math.min(left, 50_000_000L))));
            if (!(outcome instanceof InitOutcome.TimedOut) || left <= 0) {
                return outcome;
            }
            if (!process.isAlive()) {
                InitOutcome last = api.awaitInit(java.time.Duration.ZERO); // it may have finished init just before exiting
                return last instanceof InitOutcome.TimedOut ? null : last;
            }
        }
    }

    /** Lambda's environment variables for the function process. */
    private static Map<String, String> environment(InvokeRequest f) {
        Map<String, String> env = new LinkedHashMap<>(f.environment());
        env.put("AWS_LAMBDA_FUNCTION_NAME", f.functionName());
        env.put("AWS_LAMBDA_FUNCTION_VERSION", f.version());
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(f.memoryMb()));
        env.put("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + RUNTIME_API_PORT);
        env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + f.functionName());
        env.put("AWS_LAMBDA_LOG_STREAM_NAME", java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString().replace('-', '/') + "/[" + f.version() + "]"
                + java.util.UUID.randomUUID().toString().replace("-", ""));
        env.put("AWS_EXECUTION_ENV", "AWS_Lambda_" + f.runtime());
        env.put("_HANDLER", f.handler() == null ? "" : f.handler());
        env.put("LAMBDA_TASK_ROOT", Sandbox.TASK_ROOT.toString());
        env.put("LAMBDA_RUNTIME_DIR", Sandbox.RUNTIME_DIR.toString());
        env.put("AWS_REGION", f.region());
        env.put("AWS_DEFAULT_REGION", f.region());
        env.put("TZ", ":UTC");
        env.put("LANG", "en_US.UTF-8");
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", Sandbox.TMP.toString());
        env.put("TMPDIR", Sandbox.TMP.toString());
        return env;
    }

    /** Runs one invocation; {@code fatal} in the result means this environment must be destroyed. */
    Result invoke(InvokeRequest r) throws InterruptedException {
        lastUsedNanos = System.nanoTime();
        boolean cold = firstInvocation;
        firstInvocation = false;
        String preamble = drainLog(); // init's output on a cold start; on a warm one, what came after the last END
        long deadline = System.currentTimeMillis() + r.timeoutSeconds() * 1000L;
        long start = System.nanoTime();
        CompletableFuture<InvocationOutcome> outcome = runtimeApi.invoke(new Invocation(r.requestId(), r.payload().bytes(), deadline, r.functionArn(),
                "Root=1-" + Long.toHexString(System.currentTimeMillis() / 1000) + "-" + r.requestId().replace("-", "").substring(0, 24) + ";Sampled=0",
                r.clientContext(), null));
        Object done;
        boolean timedOut = false;
        try {
            done = CompletableFuture.anyOf(outcome, process.onExit()).get(r.timeoutSeconds() * 1000L, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            done = null;
            timedOut = true;
        } catch (ExecutionException e) {
            done = null;
        }
        double durationMs = (System.nanoTime() - start) / 1e6;
        if (cold) {
            TenantCpu.toIdle(worker, cgroup, process.toHandle()); // processes started while init's were being moved
        }
        Thread.sleep(5); // let the log reader catch the last lines the function wrote
        String functionLog = drainLog();
        StringBuilder text = new StringBuilder(preamble);
        text.append("START RequestId: ").append(r.requestId()).append(" Version: ").append(r.version()).append('\n').append(functionLog);
        Result result;
        if (timedOut) {
            String message = java.time.Instant.now() + " " + r.requestId() + " Task timed out after "
                    + String.format("%.2f", r.timeoutSeconds() * 1.0) + " seconds";
            text.append(message).append('\n');
            runtimeApi.abandon(r.requestId());
            result = new Result(errorJson("Sandbox.Timedout", message).getBytes(StandardCharsets.UTF_8), "Unhandled", null, true);
        } else if (done instanceof InvocationOutcome.Success success) {
            result = new Result(success.payload(), null, null, false);
        } else if (done instanceof InvocationOutcome.FunctionError error) {
            result = new Result(error.body(), "Unhandled", null, false);
        } else {
            int status = process.isAlive() ? -1 : process.exitValue();
            // The memory limit's kill is reported as AWS reports it; any other exit with the runtime's status.
            boolean outOfMemory = cgroup != null && cgroup.oomKilled();
            String message = "RequestId: " + r.requestId() + " Error: Runtime exited with error: "
                    + (outOfMemory ? "signal: killed" : "exit status " + status);
            text.append(message).append('\n');
            runtimeApi.abandon(r.requestId());
            result = new Result(errorJson(outOfMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError", message)
                    .getBytes(StandardCharsets.UTF_8), "Unhandled", null, true);
        }
        text.append("END RequestId: ").append(r.requestId()).append('\n');
        text.append("REPORT RequestId: ").append(r.requestId()).append("\tDuration: ").append(String.format("%.2f", durationMs))
                .append(" ms\tBilled Duration: ").append((long) Math.ceil(durationMs)).append(" ms\tMemory Size: ").append(r.memoryMb())
                .append(" MB\tMax Memory Used: ").append(maxMemoryMb()).append(" MB\t");
        if (cold) {
            text.append("Init Duration: ").append(String.format("%.2f", phases.initMs())).append(" ms\tNetwork Attach: ")
                    .append(String.format("%.2f", phases.networkAttachMs())).append(" ms\tProcess Start: ")
                    .append(String.format("%.2f", phases.processStartMs())).append(" ms\tSandbox: ")
                    .append(String.format("%.2f", phases.sandboxMs())).append(" ms\tRuntime Init: ")
                    .append(String.format("%.2f", phases.runtimeInitMs())).append(" ms\t");
            if (!Double.isNaN(phases.eniCreationMs())) {
                // legacy model: the environment's own ENI, created during this cold start (part of Network Attach)
                text.append("ENI Creation: ").append(String.format("%.2f", phases.eniCreationMs())).append(" ms")
                        .append(phases.eniThrottled() ? " (throttled)" : "").append('\t');
            }
        }
        text.append('\n');
        lastUsedNanos = System.nanoTime();
        return new Result(result.payload(), result.functionError(), text.toString(), result.fatal());
    }

    private long maxMemoryMb() {
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

    long idleNanos() {
        return System.nanoTime() - lastUsedNanos;
    }

    boolean alive() {
        return process.isAlive();
    }

    /**
     * Ends the process and removes the Runtime API, cgroup and files; the network is the caller's.
     *
     * @return whether every process of it is gone (only then may its uid go to another environment)
     */
    boolean destroy() {
        boolean gone = kill(process, cgroup, network.namespace());
        runtimeApi.close();
        if (cgroup != null) {
            cgroup.delete();
        }
        deleteTree(dir);
        return gone;
    }

    /** Through the cgroup first: whatever sessions or namespaces the function made, its processes are all in it. */
    private static boolean kill(Process process, EnvironmentCgroup cgroup, String namespace) {
        if (cgroup != null) {
            cgroup.killAll();
        }
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        try {
            Namespaces.killProcesses(List.of(namespace), java.time.Duration.ZERO);
            if (process != null) {
                process.waitFor(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return cgroup == null ? process == null || !process.isAlive() : cgroup.pids().isEmpty();
    }

    static String errorJson(String type, String message) {
        return com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("errorMessage", message).put("errorType", type).toString();
    }

    /** Unpacks the code keeping the zip's Unix permissions (bootstrap must stay executable). */
    private static void unzip(byte[] zip, Path task) throws IOException {
        Path file = task.getParent().resolve("code.zip");
        Files.write(file, zip);
        long written = 0;
        int entriesSeen = 0;
        try (FileSystem fs = FileSystems.newFileSystem(file, Map.of("enablePosixFileAttributes", "true"))) {
            Path root = fs.getPath("/");
            try (Stream<Path> entries = Files.walk(root)) {
                for (Path entry : (Iterable<Path>) entries::iterator) {
                    if (entry.equals(root)) {
                        continue;
                    }
                    Path target = task.resolve(root.relativize(entry).toString()).normalize();
                    if (!target.startsWith(task)) {
                        throw new IOException("zip entry " + entry + " points outside the task root");
                    }
                    if (Files.isDirectory(entry)) {
                        Files.createDirectories(target);
                        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                        continue;
                    }
                    if (++entriesSeen > MAX_CODE_ENTRIES) {
                        throw new IOException("the code has more than " + MAX_CODE_ENTRIES + " entries");
                    }
                    Files.createDirectories(target.getParent());
                    written = copyWithin(entry, target, written);
                    Set<PosixFilePermission> mode = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                            PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
                    boolean executable;
                    try {
                        executable = Files.getPosixFilePermissions(entry).contains(PosixFilePermission.OWNER_EXECUTE);
                    } catch (UnsupportedOperationException | IOException e) {
                        executable = false;
                    }
                    if (executable || root.relativize(entry).toString().equals("bootstrap")) {
                        mode.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE));
                    }
                    Files.setPosixFilePermissions(target, mode);
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
        // Directories the zip implies without entries of their own were made under the worker's private umask.
        try (Stream<Path> walk = Files.walk(task)) {
            for (Path d : walk.filter(Files::isDirectory).toList()) {
                Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    /**
     * Copies one entry, counting what is actually inflated (never what the zip's headers claim), and
     * refuses to write past Lambda's 250 MB unzipped: a zip bomb fills no host file system.
     */
    private static long copyWithin(Path entry, Path target, long written) throws IOException {
        try (InputStream in = Files.newInputStream(entry);
             OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW)) {
            byte[] chunk = new byte[64 * 1024];
            int n;
            while ((n = in.read(chunk)) > 0) {
                written += n;
                if (written > MAX_CODE_BYTES) {
                    throw new IOException("the code unzips to more than " + MAX_CODE_BYTES + " bytes");
                }
                out.write(chunk, 0, n);
            }
        }
        return written;
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.warn("removing {}: {}", p, e.getMessage());
                }
            });
        } catch (IOException e) {
            LOG.warn("removing {}: {}", dir, e.getMessage());
        }
    }
}
