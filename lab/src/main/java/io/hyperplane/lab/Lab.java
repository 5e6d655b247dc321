package io.hyperplane.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.probe.ProbeMain;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.spec.LabSpecYaml;
import io.hyperplane.lab.spec.SnapshotFactory;
import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.DetachedProcess;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.sandbox.InstanceSandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A lab on this machine, identified by its state directory: {@link #up} builds one from a
 * {@link LabSpec}, {@link #status} describes it, {@link #down} removes exactly what up made.
 * <p>
 * Crash safety: each namespace name is journalled (and forced to disk) before it is created, and
 * everything else the lab makes lives inside those namespaces, so deleting the journalled
 * namespaces removes the whole lab, whatever state the process that ran {@code up} died in.
 * <pre>
 *   STATE_DIR/journal        prefix + namespaces, in creation order
 *   STATE_DIR/lab.yaml       the spec that was brought up (what status reports)
 *   STATE_DIR/NODE.json      the node's config snapshot
 *   STATE_DIR/NODE.log       node output;  NODE.counters  its counters file
 *   STATE_DIR/RESOURCE.log   service host output
 * </pre>
 */
public final class Lab {
    public static final Path DEFAULT_STATE_ROOT = Path.of("/run/hyperplane/lab");
    public static final String READY = "ready";
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration KILL_GRACE = Duration.ofSeconds(3);
    /** The probe JVM's own start-up, added to the probe's --timeout-ms for the process timeout. */
    public static final Duration PROBE_OVERHEAD = Duration.ofSeconds(20);
    static final String SPEC_FILE = "lab.yaml";
    private static final List<String> SERVICE_JVM_OPTIONS = List.of("-Xmx128m", "-XX:+UseSerialGC");
    private static final List<String> PROBE_JVM_OPTIONS = List.of("-Xmx256m", "-XX:+UseSerialGC");
    // Files the lab writes into its state directory; down deletes these and nothing else.
    private static final Pattern STATE_FILE = Pattern.compile("journal|lab\\.yaml|seccomp\\.bpf|[a-z0-9-]+\\.(json|json\\.tmp|log|counters|userdata|started)");
    /** Directories the fabric writes: instances' layers and the /etc image they start from (InstanceSandbox). */
    private static final Pattern STATE_DIRECTORY = Pattern.compile("i-[0-9a-f]+|etc-image(\\.partial)?");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path stateDir;
    private final Consumer<String> progress;

    public Lab(Path stateDir, Consumer<String> progress) {
        this.stateDir = stateDir.toAbsolutePath().normalize();
        this.progress = progress;
    }

    /** {@code /run/hyperplane/lab/PREFIX}: tmpfs, so a reboot (which also drops the namespaces) clears it. */
    public static Path defaultStateDir(String prefix) {
        return DEFAULT_STATE_ROOT.resolve(LabSpec.requirePrefix(prefix));
    }

    public Path stateDir() {
        return stateDir;
    }

    /** True when a journal exists: a lab was brought up (perhaps only partly) and not taken down. */
    public boolean isUp() {
        return Files.isRegularFile(Journal.file(stateDir));
    }

    /**
     * Builds the lab, writes each node's config snapshot, starts the service hosts and, if
     * {@code launcher} is given, the nodes; waits until each says it is ready. On any failure it
     * removes what it made and throws a {@link LabException} naming the step that failed (for a
     * command: its command line, exit code and stderr).
     */
    public LabStatus up(LabSpec spec, NodeLauncher launcher) {
        Tools.require(Tool.IP, Tool.ETHTOOL, Tool.SETSID);
        if (isUp()) {
            throw new LabException("a lab is already up with state in " + stateDir + ": take it down first ('hyperplane lab down"
                    + (stateDir.equals(defaultStateDir(spec.prefix())) ? " --prefix " + spec.prefix() : " --state-dir " + stateDir) + "')");
        }
        requireUsableStateDir();
        List<String> taken = spec.namespaces().stream().filter(Namespaces.list()::contains).toList();
        if (!taken.isEmpty()) {
            throw new LabException("namespace" + (taken.size() > 1 ? "s " : " ") + String.join(", ", taken)
                    + " already exist but belong to no lab in " + stateDir + ": remove them (ip netns delete NAME) or use another --prefix");
        }
        Journal journal;
        try {
            journal = Journal.create(stateDir, spec.prefix());
        } catch (IOException e) {
            throw new LabException("cannot create the lab journal in " + stateDir + ": " + e.getMessage(), e);
        }
        try {
            Files.writeString(stateDir.resolve(SPEC_FILE), LabSpecYaml.write(spec), StandardCharsets.UTF_8);
            new Topology(spec, stateDir, journal, progress).build();
            writeSnapshots(spec);
            startServices(spec);
            if (launcher != null) {
                startNodes(spec, launcher);
            }
            progress.accept("lab: up (" + spec.namespaces().size() + " namespaces, state in " + stateDir + ")");
            return status();
        } catch (IOException | RuntimeException e) {
            String failure = e instanceof IOException ? e.toString() : e.getMessage();
            progress.accept("lab: up failed, removing what it made");
            try {
                down();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new LabException("lab up failed: " + failure, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            down();
            throw new LabException("lab up interrupted; removed what it made", e);
        }
    }

    /** The lab as it is now; throws {@link LabException} when no lab is up in this state directory. */
    public LabStatus status() {
        if (!isUp()) {
            throw new LabException("no lab is up (no journal in " + stateDir + ")");
        }
        try {
            Journal.Contents journal = Journal.read(stateDir, progress);
            LabSpec spec = spec();
            return LabStatus.of(spec, stateDir, journal.namespaces(), Namespaces.list(), Namespaces::pids);
        } catch (IOException e) {
            throw new LabException("cannot read the lab state in " + stateDir + ": " + e.getMessage(), e);
        }
    }

    /** The spec of the lab that is up (as written by up). */
    public LabSpec spec() {
        Path file = stateDir.resolve(SPEC_FILE);
        if (!Files.exists(file)) {
            throw new LabException("no lab spec in " + stateDir + " (was up interrupted before it wrote " + SPEC_FILE + "?)");
        }
        return LabSpecYaml.load(file);
    }

    /**
     * Removes the lab: ends every process in each journalled namespace (SIGTERM, then SIGKILL
     * after {@link #KILL_GRACE}), deletes the namespaces by exact name, then the state directory.
     * Idempotent, and works on what a crashed {@code up} left behind.
     */
    public void down() {
        if (!isUp()) {
            progress.accept("lab: nothing to take down (no journal in " + stateDir + ")");
            return;
        }
        try {
            Journal.Contents journal = Journal.read(stateDir, progress);
            List<String> names = new ArrayList<>(journal.namespaces()).reversed();
            Set<String> existing = Namespaces.list();
            List<String> present = names.stream().filter(existing::contains).toList();
            int killed = Namespaces.killProcesses(present, KILL_GRACE);
            if (killed > 0) {
                progress.accept("lab: stopped " + killed + " process" + (killed == 1 ? "" : "es"));
            }
            List<String> deleted = new ArrayList<>();
            for (String name : present) {
                if (Namespaces.delete(name)) {
                    deleted.add(name);
                }
            }
            progress.accept("lab: deleted " + deleted.size() + " namespace" + (deleted.size() == 1 ? "" : "s")
                    + (deleted.isEmpty() ? "" : ": " + String.join(" ", deleted)));
            if (journal.prefix() != null) {
                EnvironmentCgroup.deleteLeftovers(LabFabric.cgroupOwner(journal.prefix())); // instances' cgroups, emptied above
            }
        } catch (IOException e) {
            throw new LabException("cannot read the lab journal in " + stateDir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("lab down interrupted; run it again", e);
        }
        removeStateDir();
        progress.accept("lab: down");
    }

    /**
     * Runs a command inside one of this lab's namespaces ({@code ip netns exec}); refuses any other
     * namespace, so a lab handle cannot reach outside its lab.
     */
    public ExecResult exec(String namespace, Duration timeout, String... command) {
        return execWithInput(namespace, timeout, null, command);
    }

    /** As {@link #exec}, with {@code input} on the command's standard input (an nft ruleset, say: no temporary file to leave behind). */
    public ExecResult execWithInput(String namespace, Duration timeout, String input, String... command) {
        requireLabNamespace(namespace);
        return Commands.run(timeout, Namespaces.execIn(namespace, List.of(command)), input);
    }

    /**
     * Runs {@link ProbeMain} with {@code probeArgs} inside a lab namespace, using this JVM's java
     * and classpath, and returns the JSON line it printed, e.g. {@code probe("hp-res2", "tcp",
     * "10.0.1.10:5432", "--send", "hi", "--timeout-ms", "2000")} gives {@code {"ok":true,"reply":"hi",...}}.
     */
    public JsonNode probe(String namespace, String... probeArgs) {
        List<String> command = new ArrayList<>(Jvm.command(PROBE_JVM_OPTIONS, ProbeMain.class.getName()));
        command.addAll(Arrays.asList(probeArgs));
        Duration timeout = PROBE_OVERHEAD.plusMillis(probeTimeoutMillis(probeArgs));
        ExecResult result = exec(namespace, timeout, command.toArray(String[]::new));
        String line = result.stdout().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse(null);
        if (line == null) {
            throw new LabException("probe in " + namespace + " printed no JSON (exit code " + result.exitCode() + "): "
                    + String.join(" ", probeArgs) + "\n  stderr: " + result.stderr().strip());
        }
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new LabException("probe in " + namespace + " printed malformed JSON: " + line, e);
        }
    }

    /** How long a probe may take: its --timeout-ms (or the default) plus any --duration-ms it runs for. */
    private static long probeTimeoutMillis(String[] args) {
        long timeout = ProbeMain.DEFAULT_TIMEOUT_MS;
        long duration = 0;
        for (int i = 0; i + 1 < args.length; i++) {
            try {
                if (args[i].equals("--timeout-ms")) {
                    timeout = Long.parseLong(args[i + 1]);
                } else if (args[i].equals("--duration-ms")) {
                    duration = Long.parseLong(args[i + 1]);
                }
            } catch (NumberFormatException e) {
                return 0; // ProbeMain reports the bad value itself
            }
        }
        return timeout + duration;
    }

    private void requireLabNamespace(String namespace) {
        try {
            if (!isUp() || !Journal.read(stateDir, message -> { }).namespaces().contains(namespace)) {
                throw new LabException("namespace " + namespace + " is not part of the lab in " + stateDir);
            }
        } catch (IOException e) {
            throw new LabException("cannot read the lab journal in " + stateDir + ": " + e.getMessage(), e);
        }
    }

    private void writeSnapshots(LabSpec spec) throws IOException {
        NodeSnapshot snapshot = SnapshotFactory.snapshot(spec);
        for (LabSpec.Node node : spec.nodes()) {
            Path file = stateDir.resolve(node.name() + ".json");
            SnapshotJson.writeAtomically(snapshot, file);
            progress.accept("lab: config snapshot for " + node.name() + " " + file + " ... ok");
        }
    }

    private void startServices(LabSpec spec) throws IOException, InterruptedException {
        List<DetachedProcess> started = new ArrayList<>();
        List<String> described = new ArrayList<>();
        for (LabSpec.Vpc vpc : spec.vpcs()) {
            for (LabSpec.Resource resource : vpc.resources()) {
                if (resource.services().isEmpty()) {
                    continue;
                }
                List<String> command = new ArrayList<>(Jvm.command(SERVICE_JVM_OPTIONS, ServiceHostMain.class.getName()));
                command.addAll(ServiceHostMain.arguments(resource.services()));
                String ns = spec.namespace(resource.name());
                started.add(DetachedProcess.start("service host in " + ns, Namespaces.execIn(ns, command),
                        stateDir.resolve(resource.name() + ".log")));
                described.add(resource.name());
            }
        }
        for (DetachedProcess process : started) {
            process.awaitReady(READY, READY_TIMEOUT);
        }
        if (!started.isEmpty()) {
            progress.accept("lab: services on " + String.join(", ", described) + " ... ready");
        }
    }

    /** Starts every node, then waits for each: their start-ups overlap, so N nodes take about as long as one. */
    private void startNodes(LabSpec spec, NodeLauncher launcher) throws IOException, InterruptedException {
        List<DetachedProcess> started = new ArrayList<>();
        for (LabSpec.Node node : spec.nodes()) {
            List<String> command = new ArrayList<>(launcher.command());
            command.addAll(List.of(
                    "--config", stateDir.resolve(node.name() + ".json").toString(),
                    // Every address of its namespace: its own and the fleet's anycast one, where the internet router's tunnel goes.
                    "--listen", "0.0.0.0:" + spec.underlay().vxlanPort(),
                    "--name", node.name(),
                    "--counters", stateDir.resolve(node.name() + ".counters").toString()));
            String ns = spec.namespace(node.name());
            Path log = stateDir.resolve(node.name() + ".log");
            started.add(DetachedProcess.start("node " + node.name(), Namespaces.execIn(ns, command), log));
        }
        for (int i = 0; i < started.size(); i++) {
            LabSpec.Node node = spec.nodes().get(i);
            DetachedProcess process = started.get(i);
            process.awaitReady(READY, READY_TIMEOUT);
            progress.accept("lab: node " + node.name() + " running in " + spec.namespace(node.name()) + " at " + node.underlayIp()
                    + " (pid " + process.pid() + ", log " + process.log() + ") ... ready");
        }
    }

    private void requireUsableStateDir() {
        if (!Files.isDirectory(stateDir)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(stateDir)) {
            for (Path entry : entries) {
                if (!STATE_FILE.matcher(entry.getFileName().toString()).matches()) {
                    throw new LabException("state directory " + stateDir + " holds " + entry.getFileName()
                            + ", which the lab did not write: choose another --state-dir");
                }
            }
        } catch (IOException e) {
            throw new LabException("cannot read state directory " + stateDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes the files the lab writes (the journal last, so an interrupted down can run again),
     * then the directory if nothing else is in it. Called only where a journal exists: a
     * directory without one is not the lab's to clean.
     */
    private void removeStateDir() {
        List<String> foreign = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(stateDir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (STATE_FILE.matcher(name).matches() && Files.isRegularFile(entry)) {
                    if (!name.equals(Journal.FILE_NAME)) {
                        Files.deleteIfExists(entry);
                    }
                } else if (STATE_DIRECTORY.matcher(name).matches() && Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    InstanceSandbox.delete(entry); // their processes are gone with their namespaces, and their mounts with them
                } else {
                    foreign.add(name);
                }
            }
            Files.deleteIfExists(Journal.file(stateDir));
            if (foreign.isEmpty()) {
                Files.deleteIfExists(stateDir);
            } else {
                progress.accept("lab: left " + stateDir + " in place: it holds files the lab did not write: " + String.join(", ", foreign));
            }
        } catch (NoSuchFileException e) {
            // already gone: down is idempotent
        } catch (IOException e) {
            throw new LabException("cannot remove state directory " + stateDir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while removing " + stateDir, e);
        }
    }
}
