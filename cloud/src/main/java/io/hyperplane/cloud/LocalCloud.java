package io.hyperplane.cloud;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.lab.Lab;
import io.hyperplane.linux.exec.DetachedProcess;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.fabric.Outside;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * on loopback) with the lab fabric and its internet router (the simulated internet, or an uplink); forwarder nodes and a worker as processes of their own,
 * whose data-plane ends live in namespaces on the fabric's underlay (node k's socket at
 * 198.18.0.k, the worker host's tunnels at 198.18.0.11) while the processes themselves stay on
 * loopback with the control plane. {@link #close} stops and removes all of it. Used by {@code
 * hyperplane up} and {@code demo}, {@code bench runtime} and the end-to-end tests.
 * <pre>
 *   node   name  namespace         underlay      state (in the data directory)
 *   1      n1    PREFIX + node     198.18.0.1    node/     (the names from when there was one node)
 *   k      nk    PREFIX + node k   198.18.0.k    node k/
 * </pre>
 */
public final class LocalCloud implements AutoCloseable {
    /**
     * The node and the worker are {@code hyperplane node} and {@code hyperplane worker}: the CLI's
     * main class, named here rather than linked (the CLI depends on this module, not the other way).
     * It is on the class path wherever a local cloud runs: the CLI, its tests, the benches it runs.
     */
    static final String HYPERPLANE_MAIN = "io.hyperplane.cli.Main";
    /** Node 1's underlay address; node k's is 198.18.0.k ({@link #nodeIp}). */
    public static final String NODE_IP = "198.18.0.1";
    /**
     * Nodes when the caller names no number: a fleet (DESIGN.md §10), the fewest that is one. At
     * most LabSpec.MAX_NODES: node addresses 198.18.0.1..8 stay below the worker hosts' (.11, .12).
     */
    public static final int DEFAULT_NODES = 2;
    public static final String WORKER_IP = "198.18.0.11";
    public static final String LEGACY_WORKER_IP = "198.18.0.12";
    /** A node or worker registers with its first heartbeat, within a second of saying "ready"; 30 s is a sick host. */
    private static final Duration REGISTRATION_WAIT = Duration.ofSeconds(30);
    private static final Duration REGISTRATION_POLL = Duration.ofMillis(50);

    /**
     * Where and how; {@code prefix} names every namespace (the fabric's and the hosts');
     * {@code outside} is the internet router's: the simulated internet unless a real uplink is named;
     * {@code nodes}: how many forwarder nodes, 1..{@link LabSpec#MAX_NODES}.
     */
    public record Settings(ControlPlaneServer.Settings server, String prefix, String workerName, String networkModel, Duration workerIdleTimeout,
                           int readyNetworks, boolean legacyWorker, Outside outside, int nodes) {
        public Settings {
            if (nodes < 1 || nodes > LabSpec.MAX_NODES) {
                throw new IllegalArgumentException("nodes " + nodes + ": must be 1.." + LabSpec.MAX_NODES
                        + " (each node is a process of its own on this machine)");
            }
        }

        public Settings(ControlPlaneServer.Settings server, String prefix, String workerName, String networkModel, Duration workerIdleTimeout,
                        int readyNetworks, boolean legacyWorker) {
            this(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, legacyWorker, Outside.SIMULATED, DEFAULT_NODES);
        }

        public Settings(ControlPlaneServer.Settings server, String prefix, String workerName, String networkModel, Duration workerIdleTimeout,
                        int readyNetworks) {
            this(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, false);
        }

        public Settings withOutside(Outside next) {
            return new Settings(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, legacyWorker, next, nodes);
        }

        public Settings withNodes(int count) {
            return new Settings(server, prefix, workerName, networkModel, workerIdleTimeout, readyNetworks, legacyWorker, outside, count);
        }
    }

    /**
     * One forwarder node of this cloud: {@code hyperplane node} named {@code name}, its socket in
     * {@code namespace} at {@code underlayIp}, its snapshot cache, counters file and log in {@code stateDir}.
     */
    public record Node(String name, String namespace, String underlayIp, Path stateDir, long pid) {
        public Path log() {
            return stateDir.resolve("node.log");
        }
    }

    /** Node k's (1-based) underlay address: 198.18.0.k. */
    public static String nodeIp(int k) {
        return "198.18.0." + k;
    }

    private final Settings settings;
    /** Options of the caller's for {@code hyperplane node}, after the ones given here (tests scale its limits and timeouts down with them). */
    private final List<String> nodeOptions;
    private final Consumer<String> progress;
    /** Asked at every step of the start: true when the start should give up (a stop began), removing what it made. */
    private final BooleanSupplier abandoned;
    private final Path hostsState;
    private final Path fabricState;
    private final String workerNamespace;
    private ControlPlaneServer server;
    /** The node processes started, in order; each with what {@link #nodes} says of it. */
    private final List<DetachedProcess> nodeProcesses = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private DetachedProcess worker;
    private DetachedProcess legacyWorker;

    private LocalCloud(Settings settings, List<String> nodeOptions, Consumer<String> progress, BooleanSupplier abandoned) {
        this.settings = settings;
        this.nodeOptions = List.copyOf(nodeOptions);
        this.progress = progress;
        this.abandoned = abandoned;
        this.fabricState = Lab.DEFAULT_STATE_ROOT.resolve(settings.prefix());
        this.hostsState = Lab.DEFAULT_STATE_ROOT.resolve(settings.prefix() + "hosts");
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
        progress.accept(settings.nodes() == 1 ? "joining the forwarder node's and the worker's hosts to the underlay"
                : "joining the " + settings.nodes() + " forwarder nodes' and the worker's hosts to the underlay");
        removeHosts(); // a previous run's, if it was killed
        Journal journal = Journal.openOrCreate(hostsState, settings.prefix());
        String underlay = LabFabric.underlayNamespace(settings.prefix());
        for (int k = 1; k <= settings.nodes(); k++) {
            join(journal, nodeNamespace(k), underlay, k == 1 ? "hp-un" : "hp-un" + k, nodeIp(k));
            holdAnycast(nodeNamespace(k));
        }
        join(journal, workerNamespace, underlay, "hp-uw", WORKER_IP);
        if (settings.legacyWorker()) {
            join(journal, workerNamespace + "2", underlay, "hp-uw2", LEGACY_WORKER_IP);
        }
        giveUpIfAbandoned();
        startNodes();
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

    /** Node k's namespace: PREFIX + "node" for the first (its name from when there was one node), PREFIX + "node" + k after it. */
    private String nodeNamespace(int k) {
        return settings.prefix() + "node" + (k == 1 ? "" : Integer.toString(k));
    }

    /**
     * Starts every node, then waits until each says it is ready and has registered: their JVMs
     * start side by side, so two nodes take little longer than one.
     */
    private void startNodes() throws IOException, InterruptedException {
        for (int k = 1; k <= settings.nodes(); k++) {
            launchNode(k);
        }
        for (DetachedProcess process : nodeProcesses) {
            process.awaitReady("ready", Duration.ofSeconds(60));
        }
        awaitRegistered();
    }

    /** Starts node k (1-based) as a process, in its place in {@link #nodes}: the same name, namespace and state directory each time. */
    private DetachedProcess launchNode(int k) throws IOException {
        String name = "n" + k;
        String namespace = nodeNamespace(k);
        String ip = nodeIp(k);
        Path dir = settings.server().dataDir().resolve(k == 1 ? "node" : "node" + k);
        PrivateFiles.createDirectories(dir);
        List<String> command = new ArrayList<>(Jvm.command(serviceJvmOptions(), HYPERPLANE_MAIN));
        command.addAll(List.of("node", "--control", server.endpoint().toString(), "--token-file", tokenFile().toString(), "--netns", namespace,
                "--listen", NODE_LISTEN, "--underlay-ip", ip, "--name", name, "--state-dir", dir.toString()));
        command.addAll(nodeOptions);
        progress.accept("starting the forwarder node " + name + " (socket in " + namespace + " at " + ip + ")");
        // In this process's session, as the worker: the control plane, nodes and worker share one
        // scheduling group, so their background work (JIT, slot preparation) yields to cold starts.
        DetachedProcess process = DetachedProcess.start("forwarder node " + name, command, dir.resolve("node.log"), false);
        Node node = new Node(name, namespace, ip, dir, process.pid());
        if (k <= nodes.size()) {
            nodeProcesses.set(k - 1, process);
            nodes.set(k - 1, node);
        } else {
            nodeProcesses.add(process);
            nodes.add(node);
        }
        return process;
    }

    private void awaitRegistered() throws InterruptedException {
        long deadline = System.nanoTime() + REGISTRATION_WAIT.toNanos();
        while (!unregistered().isEmpty()) {
            giveUpIfAbandoned();
            if (System.nanoTime() > deadline) {
                List<String> missing = unregistered();
                throw new IllegalStateException("forwarder node " + String.join(", ", missing) + " did not register within 30 s; see "
                        + nodes.stream().filter(n -> missing.contains(n.name())).map(n -> n.log().toString()).toList());
            }
            Thread.sleep(REGISTRATION_POLL);
        }
    }

    /** Kills node k (1-based) with SIGKILL, as a crash would, and waits until it is gone; its namespace and state stay. */
    public void killNode(int k) {
        ProcessHandle.of(nodes.get(k - 1).pid()).ifPresent(p -> {
            p.destroyForcibly();
            p.onExit().join();
        });
    }

    /** Starts node k again on its name, namespace and state directory (after {@link #killNode}), and waits until it is ready and registered. */
    public void restartNode(int k) throws IOException, InterruptedException {
        Node killed = nodes.get(k - 1);
        if (Files.exists(killed.log())) { // the new process's log starts afresh; the killed one's is kept beside it
            Files.move(killed.log(), killed.stateDir().resolve("node-" + killed.pid() + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
        launchNode(k).awaitReady("ready", Duration.ofSeconds(60));
        awaitRegistered();
    }

    /** The nodes started that are not live in the control plane's registry yet. */
    private List<String> unregistered() {
        List<String> live = server.nodes().live().stream().map(n -> n.name()).toList();
        return nodes.stream().map(Node::name).filter(name -> !live.contains(name)).toList();
    }

    /** The forwarder nodes, in order: node 1 first. */
    public List<Node> nodes() {
        return List.copyOf(nodes);
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

    /** SIGTERM to each first, then waits for each: they leave (the control plane, their sockets) side by side. */
    private static void terminateAll(List<Long> pids) throws InterruptedException {
        List<ProcessHandle> handles = pids.stream().flatMap(pid -> ProcessHandle.of(pid).stream()).toList();
        handles.forEach(ProcessHandle::destroy);
        for (ProcessHandle handle : handles) {
            try {
                handle.onExit().get(20, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                handle.destroyForcibly();
            }
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

    /** A node's namespace holds the fleet's anycast address: senders' tunnels go there, spread per flow (docs/fleet.md). */
    public static void holdAnycast(String ns) throws IOException, InterruptedException {
        run("ip", "-n", ns, "address", "add", FleetPlan.ANYCAST + "/32", "dev", "lo");
    }

    /**
     * A node's {@code --listen}: every address of its namespace, its own and the anycast one (what it
     * sends leaves from its own, the route's source); its own is then given with {@code --underlay-ip}.
     */
    public static final String NODE_LISTEN = "0.0.0.0:4789";

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
            terminateAll(nodeProcesses.stream().map(DetachedProcess::pid).toList());
            nodeProcesses.clear();
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
