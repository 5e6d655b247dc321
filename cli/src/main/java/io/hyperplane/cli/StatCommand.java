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
        description = "Show a node's counters live: forwarded, drops by reason, flows, NAT ports per ENI, NAT gateways' metrics.")
final class StatCommand implements Callable<Integer> {
    static final Path DEFAULT_LAB_STATE = Path.of("/run/hyperplane/lab");

    @Parameters(arity = "0..*", paramLabel = "COUNTERS_FILE",
            description = "Counters files (default: every node of running labs under /run/hyperplane/lab).")
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
        List<Path> targets = files.isEmpty() ? discover() : files;
        if (targets.isEmpty()) {
            System.err.println("hyperplane stat: no node counters found under " + DEFAULT_LAB_STATE + "; is a lab up? (or pass a counters file)");
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
            for (Path p : targets) {
                CountersFile.Snapshot now = CountersFile.read(p);
                render(screen, p, now, previous.get(p));
                previous.put(p, now);
            }
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

    private static List<Path> discover() throws IOException {
        if (!Files.isDirectory(DEFAULT_LAB_STATE)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(DEFAULT_LAB_STATE, 2)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(".counters")).sorted().toList();
        }
    }
}
