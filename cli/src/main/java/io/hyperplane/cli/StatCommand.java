package io.hyperplane.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.node.CountersFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "stat", mixinStandardHelpOptions = true,
        description = {"Show the nodes' counters live: forwarded, drops by reason, flows, NAT ports per ENI, NAT gateways' metrics;"
                + " each node under its name, then, where several nodes make one fleet (a lab, an 'up'), the fleet's totals over its running nodes."})
final class StatCommand implements Callable<Integer> {
    static final Path DEFAULT_LAB_STATE = Path.of("/run/hyperplane/lab");
    /** Where 'hyperplane up' (DATA_DIR/node, node2, ...) and 'hyperplane node --control' (node-NAME) keep their nodes' counters by default. */
    static final Path DEFAULT_NODE_STATE = Path.of(UpCommand.STATE_ROOT);
    /** The counters file of a node run with --state-dir (NodeSettings), beside its snapshot cache. */
    static final String STATE_DIR_COUNTERS = "counters";

    @Parameters(arity = "0..*", paramLabel = "COUNTERS_FILE",
            description = "Counters files (default: every node of the labs under /run/hyperplane/lab, and of 'hyperplane up' and"
                    + " 'hyperplane node' under " + UpCommand.STATE_ROOT + ").")
    List<Path> files = new ArrayList<>();

    @Option(names = "--once", description = "Print once and exit.")
    boolean once;

    @Option(names = "--json", description = "Print one JSON object per node and exit.")
    boolean json;

    @Option(names = "--interval", defaultValue = "1", description = "Refresh interval in seconds (default: ${DEFAULT-VALUE}).")
    int interval;

    @Option(names = "--all", description = "Show counters that are zero too.")
    boolean all;

    @Override
    public Integer call() throws Exception {
        List<Path> targets = files.isEmpty() ? discover(DEFAULT_LAB_STATE, DEFAULT_NODE_STATE) : files;
        if (targets.isEmpty()) {
            System.err.println("hyperplane stat: no node counters found under " + DEFAULT_LAB_STATE + " or " + DEFAULT_NODE_STATE
                    + "; is a lab or 'hyperplane up' running? (or pass a counters file)");
            return 1;
        }
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            for (Path p : targets) {
                System.out.println(mapper.writeValueAsString(CountersFile.read(p)));
            }
            return 0;
        }
        Map<Path, CountersFile.Snapshot> previous = new LinkedHashMap<>();
        while (true) {
            StringBuilder screen = new StringBuilder();
            Map<Path, CountersFile.Snapshot> shown = new LinkedHashMap<>();
            for (Path p : targets) {
                CountersFile.Snapshot now = CountersFile.read(p);
                render(screen, p, now, previous.get(p));
                shown.put(p, now);
            }
            renderFleetTotals(screen, shown, previous);
            previous.putAll(shown);
            PrintStream out = System.out;
            if (!once) {
                out.print("\033[H\033[2J");
            }
            out.print(screen);
            out.flush();
            if (once) {
                return 0;
            }
            Thread.sleep(Duration.ofSeconds(interval));
        }
    }

    private void render(StringBuilder s, Path file, CountersFile.Snapshot now, CountersFile.Snapshot before) {
        String liveness = now.processAlive() ? "running, pid " + now.pid() : "NOT RUNNING (pid " + now.pid() + ")";
        s.append(String.format("node %s  %s  heartbeat %s  (%s)%n", now.node(), liveness,
                Instant.ofEpochMilli(now.heartbeatMillis()), file));
        double seconds = before == null ? 0 : (now.heartbeatMillis() - before.heartbeatMillis()) / 1000.0;
        s.append(String.format("  %-36s %16s %12s%n", "counter", "value", seconds > 0 ? "per second" : ""));
        for (Map.Entry<String, Long> e : now.counters().entrySet()) {
            if (!all && e.getValue() == 0 && !e.getKey().equals("forwarded") && !e.getKey().equals("flows")) {
                continue;
            }
            String rate = "";
            if (seconds > 0 && before.counters().containsKey(e.getKey())) {
                rate = String.format("%.0f", (e.getValue() - before.counters().get(e.getKey())) / seconds);
            }
            s.append(String.format("  %-36s %16d %12s%n", e.getKey(), e.getValue(), rate));
        }
        for (Map.Entry<String, Long> e : now.malformations().entrySet()) {
            if (all || e.getValue() != 0) {
                s.append(String.format("    %-34s %16d%n", e.getKey(), e.getValue()));
            }
        }
        for (Map.Entry<String, Long> e : now.natPortsByEni().entrySet()) {
            s.append(String.format("  nat-ports-in-use eni %-24s %7d%n", e.getKey(), e.getValue()));
        }
        for (Map.Entry<String, Map<String, Long>> gateway : now.natGateways().entrySet()) {
            renderNatGateway(s, gateway.getKey(), gateway.getValue(), before == null ? null : before.natGateways().get(gateway.getKey()), seconds);
        }
        if (now.threads().size() > 1) {
            renderThreads(s, now);
        }
    }

    /** With several forwarding threads, each one's share: a row per counter, a column per thread. */
    private void renderThreads(StringBuilder s, CountersFile.Snapshot now) {
        List<Map<String, Long>> threads = now.threads();
        StringBuilder head = new StringBuilder(String.format("  %-36s", "per thread"));
        for (int t = 0; t < threads.size(); t++) {
            head.append(String.format(" %14s", "thread " + t));
        }
        s.append(head).append(System.lineSeparator());
        for (String label : threads.getFirst().keySet()) {
            boolean shown = all || label.equals("packets-received") || label.equals("forwarded") || label.equals("flows");
            for (Map<String, Long> thread : threads) {
                shown |= thread.get(label) != 0;
            }
            if (!shown) {
                continue;
            }
            StringBuilder row = new StringBuilder(String.format("  %-36s", label));
            for (Map<String, Long> thread : threads) {
                row.append(String.format(" %14d", thread.get(label)));
            }
            s.append(row).append(System.lineSeparator());
        }
    }

    /** One NAT gateway as CloudWatch shows it: namespace AWS/NATGateway, dimension NatGatewayId, its metric names. */
    private static void renderNatGateway(StringBuilder s, String id, Map<String, Long> now, Map<String, Long> before, double seconds) {
        s.append(String.format("  AWS/NATGateway  NatGatewayId=%s%n", id));
        for (Map.Entry<String, Long> e : now.entrySet()) {
            String rate = "";
            if (seconds > 0 && before != null && before.containsKey(e.getKey()) && !e.getKey().equals("ActiveConnectionCount")) {
                rate = String.format("%.0f", (e.getValue() - before.get(e.getKey())) / seconds);
            }
            s.append(String.format("    %-34s %16d %12s%n", e.getKey(), e.getValue(), rate));
        }
    }

    /**
     * Every fleet's totals, after its nodes: a fleet is the nodes of one lab (one state directory) or
     * one {@code up} (one data directory), and its totals sum its running nodes' counters, and their
     * rates since the last screen. A fleet of one node has none: its section says it all.
     */
    private void renderFleetTotals(StringBuilder s, Map<Path, CountersFile.Snapshot> now, Map<Path, CountersFile.Snapshot> before) {
        Map<Path, List<Path>> fleets = new LinkedHashMap<>();
        now.keySet().forEach(file -> fleets.computeIfAbsent(fleetOf(file), f -> new ArrayList<>()).add(file));
        for (Map.Entry<Path, List<Path>> fleet : fleets.entrySet()) {
            if (fleet.getValue().size() < 2) {
                continue;
            }
            List<Path> running = fleet.getValue().stream().filter(file -> now.get(file).processAlive()).toList();
            Map<String, Long> totals = sum(running, now);
            boolean rates = running.stream().allMatch(before::containsKey);
            Map<String, Long> earlier = rates ? sum(running, before) : Map.of();
            double seconds = rates ? running.stream().mapToDouble(f -> (now.get(f).heartbeatMillis() - before.get(f).heartbeatMillis()) / 1000.0)
                    .average().orElse(0) : 0;
            s.append(String.format("fleet %s  %d of %d nodes running: %s%n", fleet.getKey(), running.size(), fleet.getValue().size(),
                    String.join(" ", running.stream().map(f -> now.get(f).node()).toList())));
            s.append(String.format("  %-36s %16s %12s%n", "counter (sum)", "value", seconds > 0 ? "per second" : ""));
            for (Map.Entry<String, Long> e : totals.entrySet()) {
                if (!all && e.getValue() == 0 && !e.getKey().equals("forwarded") && !e.getKey().equals("flows")) {
                    continue;
                }
                String rate = seconds > 0 && earlier.containsKey(e.getKey())
                        ? String.format("%.0f", (e.getValue() - earlier.get(e.getKey())) / seconds) : "";
                s.append(String.format("  %-36s %16d %12s%n", e.getKey(), e.getValue(), rate));
            }
        }
    }

    private static Map<String, Long> sum(List<Path> files, Map<Path, CountersFile.Snapshot> snapshots) {
        Map<String, Long> totals = new LinkedHashMap<>();
        files.forEach(file -> snapshots.get(file).counters().forEach((label, value) -> totals.merge(label, value, Long::sum)));
        return totals;
    }

    /** The lab or {@code up} a counters file belongs to: a lab's NODE.counters sit in its state directory, a state-dir node's in DATA_DIR/NODE_DIR. */
    static Path fleetOf(Path countersFile) {
        Path dir = countersFile.toAbsolutePath().getParent();
        return countersFile.getFileName().toString().equals(STATE_DIR_COUNTERS) && dir.getParent() != null ? dir.getParent() : dir;
    }

    /**
     * The counters files of every node on this machine: each lab's ({@code LAB_ROOT/PREFIX/NODE.counters})
     * and each node run with a state directory under {@code nodeRoot} ({@code up}'s
     * {@code DATA_DIR/node}, {@code node2}, ...; {@code hyperplane node}'s {@code node-NAME}).
     */
    static List<Path> discover(Path labRoot, Path nodeRoot) throws IOException {
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(labRoot)) {
            try (Stream<Path> walk = Files.walk(labRoot, 2)) {
                walk.filter(p -> p.getFileName().toString().endsWith(".counters")).sorted().forEach(found::add);
            }
        }
        if (Files.isDirectory(nodeRoot)) {
            try (Stream<Path> walk = Files.walk(nodeRoot, 3)) {
                walk.filter(p -> p.getFileName().toString().equals(STATE_DIR_COUNTERS) && p.getParent().getFileName().toString().startsWith("node")
                        && Files.isRegularFile(p)).sorted().forEach(found::add);
            }
        }
        return found;
    }
}
