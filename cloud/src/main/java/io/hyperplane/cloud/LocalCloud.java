package io.hyperplane.cloud;

import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.lab.Lab;
import io.hyperplane.linux.exec.DetachedProcess;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.fabric.Outside;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The whole system on one machine, each part where it belongs: the control plane (in this JVM,
 * on loopback) with the lab fabric and its internet router (the simulated internet, or an uplink); a forwarder node and a worker as processes of their own,
 * whose data-plane ends live in namespaces on the fabric's underlay (the node's socket at
 * 198.18.0.1, the worker host's tunnels at 198.18.0.11) while the processes themselves stay on
 * loopback with the control plane. {@link #close} stops and removes all of it. Used by {@code
 * hyperplane up} and {@code demo}, {@code bench runtime} and the end-to-end tests.
 */
public final class LocalCloud implements AutoCloseable {
    /**
     * The node and the worker are {@code hyperplane node} and {@code hyperplane worker}: the CLI's
     * main class, named here rather than linked (the CLI depends on this module, not the other way).
     * It is on the class path wherever a local cloud runs: the CLI, its tests, the benches it runs.
     */
    static final String HYPERPLANE_MAIN = "io.hyperplane.cli.Main";
    public static final String NODE_IP = "198.18.0.1";
    public static final String WORKER_IP = "198.18.0.11";
    public static final String LEGACY_WORKER_IP = "198.18.0.12";
    /** A node or worker registers with its first heartbeat, within a second of saying "ready"; 30 s is a sick host. */
    private static final Duration REGISTRATION_WAIT = Duration.ofSeconds(30);
    private static final Duration REGISTRATION_POLL = Duration.ofMillis(50);

    /**
     * Where and how; {@code prefix} names every namespace (the fabric's and the two hosts');
     * {@code outside} is the internet router's: the simulated internet unless a real uplink is named.
     */
    public record Settings(ControlPlaneServer.Settings server, String prefix, String workerName, String networkModel, Duration workerIdleTimeout,
                           int readyNetworks, boolean legacyWorker, Outside outside) {
        public Settings(ControlPlaneServer.Settings server, String prefix, String workerName, String networkModel, Duration workerIdleTimeout,
                        int readyNetworks, boolean legacyWorker) {
            this(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, legacyWorker, Outside.SIMULATED);
        }

        public Settings(ControlPlaneServer.Settings server, String prefix, String workerName, String networkModel, Duration workerIdleTimeout,
                        int readyNetworks) {
            this(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, false);
        }

        public Settings withOutside(Outside next) {
            return new Settings(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, legacyWorker, next);
        }
    }

    private final Settings settings;
    /** Options of the caller's for {@code hyperplane node}, after the ones given here (tests scale its limits and timeouts down with them). */
    private final List<String> nodeOptions;
    private final Consumer<String> progress;
    /** Asked at every step of the start: true when the start should give up (a stop began), removing what it made. */
    private final BooleanSupplier abandoned;
    private final Path hostsState;
    private final Path fabricState;
    private final String nodeNamespace;
    private final String workerNamespace;
    private ControlPlaneServer server;
    private DetachedProcess node;
    private DetachedProcess worker;
    private DetachedProcess legacyWorker;

    private LocalCloud(Settings settings, List<String> nodeOptions, Consumer<String> progress, BooleanSupplier abandoned) {
        this.settings = settings;
        this.nodeOptions = List.copyOf(nodeOptions);
        this.progress = progress;
        this.abandoned = abandoned;
        this.fabricState = Lab.DEFAULT_STATE_ROOT.resolve(settings.prefix());
        this.hostsState = Lab.DEFAULT_STATE_ROOT.resolve(settings.prefix() + "hosts");
        this.nodeNamespace = settings.prefix() + "node";
        this.workerNamespace = settings.prefix() + "worker";
    }

    public static LocalCloud start(Settings settings, Consumer<String> progress) throws IOException, InterruptedException {
        return start(settings, progress, () -> false);
    }

    /**
     * Starts it all and returns once an Invoke would succeed: the control plane serves, the node and
     * every worker are live ({@link ControlPlaneServer#readiness}). Gives up at the next step once
     * {@code abandoned} answers true (a stop began), and either way removes what it made if it fails.
     */
    public static LocalCloud start(Settings settings, Consumer<String> progress, BooleanSupplier abandoned) throws IOException, InterruptedException {
        return start(settings, List.of(), progress, abandoned);
    }

    /** As {@link #start(Settings, Consumer, BooleanSupplier)}, with options of the caller's for the forwarder node ({@code hyperplane node}). */
    public static LocalCloud start(Settings settings, List<String> nodeOptions, Consumer<String> progress, BooleanSupplier abandoned)
            throws IOException, InterruptedException {
        LocalCloud cloud = new LocalCloud(settings, nodeOptions, progress, abandoned);
        try {
            cloud.up();
            return cloud;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cloud.close();
            throw e;
        }
    }

    private void up() throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("the local cloud builds network namespaces: run as root");
        }
        try {
            Class.forName(HYPERPLANE_MAIN, false, LocalCloud.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the local cloud starts its node and worker with " + HYPERPLANE_MAIN + ", which is not on the class path");
        }
        progress.accept("starting the control plane (store in " + settings.server().dataDir() + ")");
        LabFabric fabric = new LabFabric(fabricState, settings.prefix(), settings.outside(), line -> progress.accept("  " + line));
        // Its credentials file is written only when an Invoke would succeed (awaitReady, below).
        server = ControlPlaneServer.startUnannounced(settings.server(), fabric);
        fabric.pinUnderlay();
        server.syncFabric(); // the underlay and the internet router now, before anything needs a way out
        giveUpIfAbandoned();
        progress.accept("joining the forwarder node's and the worker's hosts to the underlay");
        removeHosts(); // a previous run's, if it was killed
        Journal journal = Journal.openOrCreate(hostsState, settings.prefix());
        String underlay = LabFabric.underlayNamespace(settings.prefix());
        join(journal, nodeNamespace, underlay, "hp-un", NODE_IP);
        join(journal, workerNamespace, underlay, "hp-uw", WORKER_IP);
        if (settings.legacyWorker()) {
            join(journal, workerNamespace + "2", underlay, "hp-uw2", LEGACY_WORKER_IP);
        }
        giveUpIfAbandoned();
        startNode();
        giveUpIfAbandoned();
        startWorker(settings.networkModel());
        if (settings.legacyWorker()) {
            giveUpIfAbandoned();
            // A second worker in the pre-2019 model, used by invocations that ask for it
            // (X-Hyperplane-Network-Model: legacy): both models side by side on one system.
            legacyWorker = launchWorker(settings.workerName() + "l", workerNamespace + "2", LEGACY_WORKER_IP, "legacy",
                    settings.server().dataDir().resolve("worker-legacy"));
        }
        awaitReady();
        server.writeCredentialsFile();
    }

    private void giveUpIfAbandoned() {
        if (abandoned.getAsBoolean()) {
            throw new IllegalStateException("stopped while starting");
        }
    }

    /** Each worker and the node registered; the control plane's own readiness says the same. */
    private void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + REGISTRATION_WAIT.toNanos();
        while (!server.readiness().ready()) {
            giveUpIfAbandoned();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not ready within " + REGISTRATION_WAIT.toSeconds() + " s: " + server.readiness().missing());
            }
            Thread.sleep(REGISTRATION_POLL);
        }
    }

    /**
     * The JIT compiles in the background, at nice 19 (native thread priorities need root): on a
     * small machine its bursts otherwise delay cold starts by milliseconds.
     */
    static final List<String> BACKGROUND_JIT = List.of("-XX:ThreadPriorityPolicy=1", "-XX:CompilerThreadPriority=19");

    /**
     * The node's and workers' JVM options: a 512 MB heap and the low-pause collector (ZGC: a
     * pause of G1's on a worker with hundreds of runtime threads takes milliseconds, which a cold
     * start's network attach would wait for), then whatever HYPERPLANE_JAVA_OPTS adds.
     */
    static List<String> serviceJvmOptions() {
        List<String> extra = List.of(System.getenv().getOrDefault("HYPERPLANE_JAVA_OPTS", "").trim().split("\\s+"));
        List<String> options = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx512m"));
        if (extra.stream().noneMatch(o -> o.matches("-XX:\\+Use\\w+GC"))) {
            options.add("-XX:+UseZGC");
        }
        if ("root".equals(System.getProperty("user.name"))) {
            options.addAll(BACKGROUND_JIT);
        }
        extra.stream().filter(o -> !o.isEmpty()).forEach(options::add);
        return options;
    }

    private void startNode() throws IOException, InterruptedException {
        Path dir = settings.server().dataDir().resolve("node");
        PrivateFiles.createDirectories(dir);
        List<String> command = new ArrayList<>(Jvm.command(serviceJvmOptions(), HYPERPLANE_MAIN));
        command.addAll(List.of("node", "--control", server.endpoint().toString(), "--token-file", tokenFile().toString(), "--netns", nodeNamespace,
                "--listen", NODE_IP + ":4789", "--name", "n1", "--state-dir", dir.toString()));
        command.addAll(nodeOptions);
        progress.accept("starting the forwarder node (socket in " + nodeNamespace + " at " + NODE_IP + ")");
        // In this process's session, as the worker: the control plane, node and worker share one
        // scheduling group, so their background work (JIT, slot preparation) yields to cold starts.
        node = DetachedProcess.start("forwarder node", command, dir.resolve("node.log"), false);
        node.awaitReady("ready", Duration.ofSeconds(60));
        long deadline = System.nanoTime() + REGISTRATION_WAIT.toNanos();
        while (server.nodes().live().isEmpty()) {
            giveUpIfAbandoned();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the forwarder node did not register within 30 s; see " + node.log());
            }
            Thread.sleep(REGISTRATION_POLL);
        }
    }

    /**
     * Stops the control plane and starts it again on the same store and port, as after a crash or
     * an upgrade; the node and the worker keep running and reconnect to it.
     */
    public void restartServer() throws IOException {
        int port = server.port();
        progress.accept("restarting the control plane on port " + port);
        server.close();
        LabFabric fabric = new LabFabric(fabricState, settings.prefix(), settings.outside(), line -> progress.accept("  " + line));
        server = ControlPlaneServer.start(settings.server().withPort(port), fabric);
        fabric.pinUnderlay();
    }

    /** Starts (or restarts, with another network model) the worker. */
    public void startWorker(String networkModel) throws IOException, InterruptedException {
        stopWorker();
        worker = launchWorker(settings.workerName(), workerNamespace, WORKER_IP, networkModel, settings.server().dataDir().resolve("worker"));
    }

    private DetachedProcess launchWorker(String name, String hostNamespace, String ip, String networkModel, Path dir)
            throws IOException, InterruptedException {
        PrivateFiles.createDirectories(dir);
        List<String> command = new ArrayList<>(Jvm.command(serviceJvmOptions(), HYPERPLANE_MAIN));
        command.addAll(List.of("worker", "--control", server.endpoint().toString(), "--token-file", tokenFile().toString(), "--netns", hostNamespace,
                "--underlay-ip", ip, "--name", name, "--state-dir", dir.toString(), "--network-model", networkModel,
                "--idle-timeout", Long.toString(settings.workerIdleTimeout().toSeconds()), "--ready-networks", Integer.toString(settings.readyNetworks())));
        progress.accept("starting worker " + name + " (" + networkModel + " network model, tunnels from " + hostNamespace + " at " + ip + ")");
        DetachedProcess started = DetachedProcess.start("worker " + name, command, dir.resolve("worker-" + networkModel + ".log"), false);
        try {
            started.awaitReady("ready", Duration.ofSeconds(60));
            long deadline = System.nanoTime() + REGISTRATION_WAIT.toNanos();
            while (server.workers().live().stream().noneMatch(w -> w.name().equals(name))) {
                giveUpIfAbandoned();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("worker " + name + " did not register within 30 s; see " + started.log());
                }
                Thread.sleep(REGISTRATION_POLL);
            }
            return started;
        } catch (IOException | InterruptedException | RuntimeException e) {
            // Not yet the caller's to stop: this worker goes here (SIGTERM: it removes what it made).
            terminate(started.pid());
            throw e;
        }
    }

    /** Stops the worker (SIGTERM: it removes its environments) and waits for it. */
    public void stopWorker() throws InterruptedException {
        if (worker != null) {
            String name = settings.workerName();
            terminate(worker.pid());
            server.workers().remove(name);
            worker = null;
        }
    }

    /** Kills the worker with SIGKILL, as a crash would; {@link #startWorker} afterwards cleans up after it. */
    public void killWorker() throws InterruptedException {
        if (worker != null) {
            ProcessHandle.of(worker.pid()).ifPresent(ProcessHandle::destroyForcibly);
            ProcessHandle.of(worker.pid()).ifPresent(p -> p.onExit().join());
            server.workers().remove(settings.workerName());
            worker = null;
        }
    }

    private static void terminate(long pid) throws InterruptedException {
        ProcessHandle handle = ProcessHandle.of(pid).orElse(null);
        if (handle == null) {
            return;
        }
        handle.destroy();
        try {
            handle.onExit().get(20, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            handle.destroyForcibly();
        }
    }

    public ControlPlaneServer server() {
        return server;
    }

    public Path tokenFile() {
        return settings.server().dataDir().resolve("node-token");
    }

    private static void join(Journal journal, String ns, String underlay, String peer, String ip) throws IOException, InterruptedException {
        journal.recordNamespace(ns);
        run("ip", "netns", "add", ns);
        joinUnderlay(ns, underlay, peer, ip);
    }

    /**
     * Joins an existing namespace to the fabric's underlay bridge: a veth {@code hp-ul0} at
     * {@code ip}/15 (offloads off: it is a VTEP's lower device), its peer {@code peer} on the bridge.
     */
    public static void joinUnderlay(String ns, String underlay, String peer, String ip) throws IOException, InterruptedException {
        run("ip", "-n", ns, "link", "add", "hp-ul0", "mtu", "1600", "type", "veth", "peer", "name", peer, "netns", underlay, "mtu", "1600");
        run("ip", "-n", underlay, "link", "set", peer, "master", "hp-ul", "up");
        run("ip", "netns", "exec", ns, "ethtool", "-K", "hp-ul0", "tx", "off", "tso", "off", "gso", "off");
        run("ip", "-n", ns, "address", "add", ip + "/15", "dev", "hp-ul0");
        run("ip", "-n", ns, "link", "set", "hp-ul0", "up");
        run("ip", "-n", ns, "link", "set", "lo", "up");
    }

    /** Runs a command; its output, or an IOException with it when it fails. */
    public static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + ": " + out.strip());
        }
        return out;
    }

    private void removeHosts() throws IOException, InterruptedException {
        if (Files.exists(Journal.file(hostsState))) {
            List<String> names = Journal.read(hostsState, progress).namespaces();
            Namespaces.killProcesses(names, Duration.ofSeconds(2));
            names.forEach(Namespaces::delete);
            Files.delete(Journal.file(hostsState));
        }
        if (Files.isDirectory(hostsState)) {
            try (var left = Files.list(hostsState)) {
                if (left.findAny().isEmpty()) {
                    Files.delete(hostsState);
                }
            }
        }
    }

    @Override
    public void close() {
        try {
            stopWorker();
            if (legacyWorker != null) {
                terminate(legacyWorker.pid());
                server.workers().remove(settings.workerName() + "l");
                legacyWorker = null;
            }
            if (node != null) {
                terminate(node.pid());
                node = null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            removeHosts();
        } catch (IOException | InterruptedException e) {
            progress.accept("removing the hosts: " + e.getMessage());
        }
        if (server != null) {
            server.close();
            server = null;
        }
        try {
            new Lab(fabricState, progress).down();
        } catch (RuntimeException e) {
            progress.accept("removing the fabric: " + e.getMessage());
        }
    }
}
