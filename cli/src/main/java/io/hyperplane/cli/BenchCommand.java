package io.hyperplane.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.bench.ApiBench;
import io.hyperplane.bench.BenchReport;
import io.hyperplane.bench.EventBench;
import io.hyperplane.bench.ForwarderBench;
import io.hyperplane.bench.RuntimeBench;
import io.hyperplane.bench.SnapshotBench;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.NodeLauncher;
import io.hyperplane.linux.PrivateFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Forwarder.class, BenchCommand.Api.class, BenchCommand.RuntimeCommand.class, BenchCommand.Snapshot.class,
                BenchCommand.Events.class})
final class BenchCommand {
    /**
     * Where a bench's logs go: beside the other commands' state (no bench keeps a directory that outlives it), in a
     * directory of ours rather than the shared temporary one, where a planted link could redirect a root-written file.
     * Runs append.
     */
    static Path logFile(String bench) {
        try {
            Path root = Path.of(UpCommand.STATE_ROOT);
            return PrivateFiles.createDirectories(root, root).resolve("bench-" + bench + ".log");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make " + UpCommand.STATE_ROOT + " for the bench's log: " + e.getMessage()
                    + "; run as root, or with --verbose", e);
        }
    }

    @Command(name = "forwarder", mixinStandardHelpOptions = true,
            description = {"The forwarder node against the Linux kernel doing the same job (VXLAN, forwarding, nftables SNAT),",
                    "in the same lab built twice, measured interleaved in one run: TCP throughput (1 and 4 streams),",
                    "64-byte UDP packets/s, 1-byte request/response p50/p99, new connections/s (1 and 4 clients),",
                    "heap bytes per tracked flow; and, on a third copy of the lab whose node runs 2 forwarding threads,",
                    "4 TCP streams, 4 clients' new connections/s and 64-byte UDP from 2 flows (also on 1 thread, for the scaling).",
                    "Needs root; takes a few minutes with the defaults."})
    static final class Forwarder implements Callable<Integer> {
        @Option(names = "--json", paramLabel = "FILE", description = "Also write {rows: [{name, unit, kernel, hyperplane, ratio, better}]}.")
        Path json;

        @Option(names = "--seconds", defaultValue = "5", description = "Seconds per measurement (default: ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--rounds", defaultValue = "3", description = "Interleaved rounds; medians are reported (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--warmup", defaultValue = "2", description = "Warm-up seconds per metric, discarded (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--flows", defaultValue = "1000000", description = "Flows for the heap-per-flow row (default: ${DEFAULT-VALUE}).")
        int flows;

        @Option(names = "--keep", description = "Leave both labs up afterwards (remove them with 'lab down --prefix ...').")
        boolean keep;

        @Mixin
        VerboseOption verbose;

        @Override
        public Integer call() throws Exception {
            return verbose.run(logFile("forwarder"), this::measure);
        }

        private int measure() throws Exception {
            ForwarderBench bench = new ForwarderBench(System.out::println);
            ForwarderBench.Settings settings = new ForwarderBench.Settings(Duration.ofSeconds(seconds), rounds,
                    Duration.ofSeconds(warmup), flows, Lab.DEFAULT_STATE_ROOT, keep);
            BenchReport report = bench.run(settings, NodeLauncher.currentJvm(Main.class.getName(), "node"));
            System.out.println();
            System.out.print(report.table());
            if (json != null) {
                report.writeJson(json);
                System.out.println("wrote " + json);
            }
            return 0;
        }
    }

    @Command(name = "api", mixinStandardHelpOptions = true,
            description = "DescribeSubnets latency (p50/p99) and rate with many concurrent clients, against a server in this JVM.")
    static final class Api implements Callable<Integer> {
        @Option(names = "--clients", defaultValue = "50", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
        int clients;

        @Option(names = "--subnets", defaultValue = "20", description = "Subnets in the VPC described (default: ${DEFAULT-VALUE}).")
        int subnets;

        @Option(names = "--seconds", defaultValue = "10", description = "Seconds measured (default: ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--warmup", defaultValue = "3", description = "Warm-up seconds, discarded (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Mixin
        VerboseOption verbose;

        @Override
        public Integer call() throws Exception {
            return verbose.run(logFile("api"), this::measure);
        }

        private int measure() throws Exception {
            ApiBench.Result r = new ApiBench(System.out::println).run(clients, subnets, Duration.ofSeconds(warmup), Duration.ofSeconds(seconds));
            System.out.printf("DescribeSubnets, %d clients: p50 %.2f ms, p99 %.2f ms, %.0f requests/s (%d requests, %d failed)%n",
                    r.clients(), r.p50Ms(), r.p99Ms(), r.perSecond(), r.requests(), r.failures());
            return r.failures() == 0 ? 0 : 1;
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = {"One node configuration with many ENIs: built from the store (ENI by ENI, with admission), validated,",
                    "written and read as JSON, compiled by the node. A store where every address is distinct is the baseline;",
                    "the other has half of its ENIs at the same addresses in many VPCs of 10.0.0.0/16. Medians, in one run."})
    static final class Snapshot implements Callable<Integer> {
        @Option(names = "--enis", defaultValue = "10000", description = "ENIs in the snapshot (default: ${DEFAULT-VALUE}).")
        int enis;

        @Option(names = "--vpcs", defaultValue = "50", description = "VPCs sharing 10.0.0.0/16 (default: ${DEFAULT-VALUE}).")
        int vpcs;

        @Option(names = "--runs", defaultValue = "7", description = "Measured runs per phase (default: ${DEFAULT-VALUE}).")
        int runs;

        @Mixin
        VerboseOption verbose;

        @Override
        public Integer call() throws Exception {
            return verbose.run(logFile("snapshot"), this::measure);
        }

        private int measure() throws Exception {
            SnapshotBench bench = new SnapshotBench(System.out::println);
            List<SnapshotBench.Row> rows = bench.run(new SnapshotBench.Settings(enis, vpcs, runs, SnapshotBench.Settings.DEFAULTS.warmups()));
            System.out.println();
            System.out.print(SnapshotBench.table(rows));
            return 0;
        }
    }

    @Command(name = "runtime", mixinStandardHelpOptions = true,
            description = {"The function runtime in the shared-ENI model and in the legacy (one ENI per environment) model, side by side:",
                    "network attach, cold starts per runtime, warm invoke latency, invokes/s at concurrency 1, 10 and 50, a burst of 50.",
                    "Brings up its own control plane, fabric, node and worker (namespaces prefixed hp-bn-) and removes them after."})
    static final class RuntimeCommand implements Callable<Integer> {
        @Option(names = "--json", paramLabel = "FILE", description = "Also write the full results as JSON.")
        Path json;

        @Option(names = "--cold-starts", defaultValue = "50", description = "Cold starts per runtime, shared model (default: ${DEFAULT-VALUE}).")
        int coldStarts;

        @Option(names = "--warmup-cold-starts", defaultValue = "10",
                description = "Cold starts made before each model's measured ones and not counted: the JITs of a freshly started "
                        + "system are cold (default: ${DEFAULT-VALUE}).")
        int warmupColdStarts;

        @Option(names = "--legacy-cold-starts", defaultValue = "10",
                description = "Cold starts per runtime, legacy model: each waits for its own ENI (default: ${DEFAULT-VALUE}).")
        int legacyColdStarts;

        @Option(names = "--warm-invokes", defaultValue = "200", description = "Sequential warm invokes (default: ${DEFAULT-VALUE}).")
        int warmInvokes;

        @Option(names = "--seconds", defaultValue = "5", description = "Seconds per throughput measurement (default: ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--burst", defaultValue = "50", description = "Concurrent invocations in the burst (default: ${DEFAULT-VALUE}).")
        int burst;

        @Option(names = "--no-java", description = "Skip the java21 runtime (each cold start is a JVM).")
        boolean noJava;

        @Mixin
        VerboseOption verbose;

        @Override
        public Integer call() throws Exception {
            return verbose.run(logFile("runtime"), this::measure);
        }

        private int measure() throws Exception {
            RuntimeBench bench = new RuntimeBench(new RuntimeBench.Settings(coldStarts, legacyColdStarts, warmInvokes, seconds, burst, !noJava, warmupColdStarts),
                    line -> System.out.println("  " + line));
            ObjectNode report = bench.run();
            System.out.println();
            System.out.print(RuntimeBench.table(report));
            if (json != null) {
                Files.writeString(json, PrettyJson.of(report));
                System.out.println("written to " + json);
            }
            return 0;
        }
    }

    @Command(name = "events", mixinStandardHelpOptions = true,
            description = {"Event (asynchronous) invocations/s sustained through the control plane's queue, on embedded H2 and on",
                    "PostgreSQL: a server in this JVM, a stub worker that answers every invocation at once (so the queue is measured,",
                    "not a function), clients sending signed Invoke Event requests. Reports accepted/s (202s), completed/s (handed to",
                    "the worker), the backlog when the clients stop and how long it takes to drain, and duplicates. The PostgreSQL",
                    "run makes a throwaway cluster (Debian's postgresql package) in " + Events.POSTGRES_DIR + " and removes it."})
    static final class Events implements Callable<Integer> {
        /** The postgres user's home, where initdb may write (it refuses root; our own state directory is root's alone). */
        static final String POSTGRES_DIR = "/var/lib/postgresql/hyperplane-bench-events";

        @Option(names = "--stores", split = ",", defaultValue = "h2,postgresql", paramLabel = "STORE",
                description = "Stores to measure, of h2 and postgresql (default: ${DEFAULT-VALUE}).")
        List<String> stores;

        @Option(names = "--clients", defaultValue = "8", description = "Client threads sending Invoke Event (default: ${DEFAULT-VALUE}).")
        int clients;

        @Option(names = "--seconds", defaultValue = "10", description = "Seconds measured per store (default: ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--warmup", defaultValue = "3", description = "Warm-up seconds per store, not counted (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--drain", defaultValue = "120", paramLabel = "SECONDS",
                description = "How long the backlog may take to drain after the clients stop (default: ${DEFAULT-VALUE}).")
        int drain;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write {bench, runs: [{store, acceptedPerSecond, ...}]}.")
        Path json;

        @Mixin
        VerboseOption verbose;

        @Override
        public Integer call() throws Exception {
            return verbose.run(logFile("events"), this::measure);
        }

        private int measure() throws Exception {
            List<EventBench.Store> chosen = stores.stream().map(s -> switch (s.trim().toLowerCase()) {
                case "h2" -> EventBench.Store.H2;
                case "postgresql", "postgres" -> EventBench.Store.POSTGRESQL;
                default -> throw new IllegalArgumentException("--stores " + s + ": expected h2 or postgresql");
            }).toList();
            EventBench.Settings settings = new EventBench.Settings(chosen, clients, Duration.ofSeconds(warmup), Duration.ofSeconds(seconds),
                    Duration.ofSeconds(drain), Path.of(POSTGRES_DIR));
            List<EventBench.Result> results = new EventBench(System.out::println).run(settings);
            System.out.println();
            results.forEach(r -> System.out.println(EventBench.line(r)));
            if (json != null) {
                EventBench.writeJson(results, json);
                System.out.println("wrote " + json);
            }
            return results.stream().allMatch(r -> r.drainSeconds() >= 0 && r.refused() == 0) ? 0 : 1;
        }
    }
}
