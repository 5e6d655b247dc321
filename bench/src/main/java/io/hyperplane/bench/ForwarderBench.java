package io.hyperplane.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.flow.ThreadSteering;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.LabStatus;
import io.hyperplane.lab.NodeLauncher;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.spec.LabSpecYaml;
import io.hyperplane.lab.spec.SnapshotFactory;
import io.hyperplane.node.CountersFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * {@code hyperplane bench forwarder}: the same lab built twice, side by side, once with our node
 * and once with the kernel doing the node's job ({@link KernelRouter}), then every metric measured
 * on both, interleaved round by round (kernel first in odd rounds, ours first in even ones) so
 * that machine noise lands on both columns. Medians per column; ratio = ours / kernel.
 * <pre>
 *   world "hp-ba-": ee1 --VXLAN--> node1 (Java forwarder) --VXLAN--> vpc1 --> res1 (iperf3, echo)
 *   world "hp-bb-": ee1 --VXLAN--> node1 (kernel VXLAN + forwarding + nftables masquerade) --> res1
 * </pre>
 * Clients run in ee1, servers in res1: iperf3 for TCP throughput and 64-byte UDP, the lab probe
 * for 1-byte request/response latency and connect-exchange-close rates. Heap per flow is measured
 * in this JVM at 1M flows; the kernel's figure is the nf_conntrack slab object size.
 * <p>
 * The thread rows: a third copy of the lab (prefix "hp-bc-") whose node runs {@link #THREADS}
 * forwarding threads, while the first's runs one, as every other row always has. They measure
 * what spreads over threads: 4 TCP streams, new connections from 4 clients, and 64-byte UDP from
 * 2 flows (one thread handles one flow; with one flow there is nothing to spread). The streams'
 * client ports ({@code --cport}, consecutive from there) are picked so that they fall evenly on
 * the two threads ({@link ThreadSteering}, what the kernel's steering program computes); the
 * kernel runs the same commands. The 64-byte row is measured on the one-thread node too, so the
 * two give the scaling.
 * <p>
 * The NAT gateway rows: res2 routes to res1 through a NAT gateway at 10.0.1.5 in their subnet.
 * In our world it is a NAT gateway of the node's snapshot (added to the lab's config file, which
 * the node reloads); in the kernel's, the address on the node namespace's subnet device, where the
 * masquerade rule translates what leaves it. Both hairpin on the subnet's tunnel:
 * <pre>
 *   res2 --> vpc1 bridge --VXLAN 1001--> node1 (NAT onto 10.0.1.5 or 10.0.1.4) --VXLAN 1001--> vpc1 bridge --> res1
 * </pre>
 */
public final class ForwarderBench {
    public static final String OURS_PREFIX = "hp-ba-";
    public static final String KERNEL_PREFIX = "hp-bb-";
    public static final String THREADS_PREFIX = "hp-bc-";
    /** The threaded node's forwarding threads: as many as this machine's CPUs, 2. */
    static final int THREADS = 2;
    /**
     * Client ports for the spread streams: above the namespace's ephemeral range (32768-60999),
     * where the connection-rate rows leave thousands of ports in TIME_WAIT, and a fresh block per
     * measurement, so that none of ours is still in TIME_WAIT either.
     */
    private static final int FIRST_CLIENT_PORT = 61_000;
    private static final int CLIENT_PORT_BLOCKS = 500;
    private static final int CLIENT_PORT_BLOCK = 8;
    private static final String SERVER = "10.0.1.10";
    private static final String IPERF_PORT = "5201";
    private static final String ECHO = SERVER + ":5432";
    private static final String NAT_CLIENT = "res2";
    private static final String NAT_GATEWAY_IP = "10.0.1.5";
    private static final NodeSnapshot.NatGateway NAT_GATEWAY = new NodeSnapshot.NatGateway("nat-0bench0000000000", NAT_GATEWAY_IP,
            "02:4e:00:00:01:05", "subnet-1");
    private static final int REFERENCE_CONNTRACK_BYTES = 256; // Linux nf_conntrack slab object, when /proc/slabinfo is unreadable
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How long and how often to measure. */
    public record Settings(Duration measure, int rounds, Duration warmup, int flowsForMemory, Path stateRoot, boolean keep) {
        public Settings {
            if (measure.toSeconds() < 1) {
                throw new IllegalArgumentException("measure " + measure + ": at least 1 second (iperf3 counts whole seconds)");
            }
            if (rounds < 1) {
                throw new IllegalArgumentException("rounds " + rounds + ": at least 1");
            }
            if (flowsForMemory < 1) {
                throw new IllegalArgumentException("flows for memory " + flowsForMemory + ": at least 1");
            }
        }
    }

    enum Metric {
        TCP_1_STREAM, TCP_4_STREAMS, UDP_64B, REQUEST_RESPONSE, CONNECTIONS_1_CLIENT, CONNECTIONS_4_CLIENTS,
        NAT_TCP_1_STREAM, NAT_TCP_4_STREAMS, NAT_CONNECTIONS_4_CLIENTS,
        /** 64-byte UDP from two flows, one per thread. */
        UDP_64B_2_FLOWS,
        /** 4 TCP streams from consecutive client ports: two per thread. */
        TCP_4_STREAMS_SPREAD
    }

    /** What the node with one thread measures: every metric but the spread streams, which are the threaded node's. */
    private static final Set<Metric> ONE_THREAD = EnumSet.complementOf(EnumSet.of(Metric.TCP_4_STREAMS_SPREAD));
    private static final Set<Metric> TWO_THREADS = EnumSet.of(Metric.TCP_4_STREAMS_SPREAD, Metric.CONNECTIONS_4_CLIENTS,
            Metric.UDP_64B_2_FLOWS);

    private record World(String name, String prefix, Lab lab, LabSpec spec, Set<Metric> metrics) {
        String ns(String name) {
            return prefix + name;
        }
    }

    private final Consumer<String> progress;
    private int clientPortBlock;

    public ForwarderBench(Consumer<String> progress) {
        this.progress = progress;
    }

    public BenchReport run(Settings settings, NodeLauncher nodeLauncher) throws IOException {
        LabSpec base = LabSpecYaml.parse(resource("/bench-lab.yaml"), "bench-lab.yaml");
        World ours = world("hyperplane", OURS_PREFIX, base, settings, ONE_THREAD);
        World kernel = world("kernel", KERNEL_PREFIX, base, settings, EnumSet.allOf(Metric.class));
        World threaded = world("hp-" + THREADS + "-threads", THREADS_PREFIX, base, settings, TWO_THREADS);
        List<World> built = new ArrayList<>();
        List<Process> servers = new ArrayList<>();
        try {
            progress.accept("bench: building the lab with the hyperplane node (" + OURS_PREFIX + "*)");
            built.add(ours);
            LabStatus oursStatus = ours.lab().up(ours.spec(), withThreads(nodeLauncher, 1));
            progress.accept("bench: building the same lab with the kernel as the router (" + KERNEL_PREFIX + "*)");
            built.add(kernel);
            LabStatus kernelStatus = kernel.lab().up(kernel.spec(), null);
            NodeSnapshot snapshot = SnapshotFactory.snapshot(kernel.spec());
            LabStatus.NodeStatus node = kernelStatus.nodes().getFirst();
            KernelRouter.configure(kernel.lab(), node.namespace(), node.underlayIp(), snapshot);
            KernelRouter.configureNatGateway(kernel.lab(), node.namespace(), snapshot, NAT_GATEWAY_IP);
            addNatGateway(ours, oursStatus.nodes().getFirst());
            progress.accept("bench: the same lab with a node of " + THREADS + " forwarding threads (" + THREADS_PREFIX + "*)");
            built.add(threaded);
            LabStatus threadedStatus = threaded.lab().up(threaded.spec(), withThreads(nodeLauncher, THREADS));
            for (World w : List.of(ours, kernel)) {
                tuneClient(w, "ee1");
                tuneClient(w, NAT_CLIENT);
                w.lab().exec(w.ns(NAT_CLIENT), Duration.ofSeconds(5), "ip", "route", "add", SERVER + "/32", "via", NAT_GATEWAY_IP);
                servers.add(startIperfServer(w));
            }
            tuneClient(threaded, "ee1");
            servers.add(startIperfServer(threaded));
            List<World> worlds = List.of(kernel, ours, threaded);
            for (World w : worlds) {
                awaitListening(w);
            }
            progress.accept("bench: node " + oursStatus.nodes().getFirst().namespace() + " (1 thread) and "
                    + threadedStatus.nodes().getFirst().namespace() + " (" + THREADS + " threads) vs kernel in " + node.namespace());

            if (!settings.warmup().isZero()) {
                progress.accept("bench: warm-up (" + settings.warmup().toSeconds() + " s per metric, discarded)");
                for (Metric m : Metric.values()) {
                    for (World w : List.of(ours, kernel, threaded)) {
                        if (w.metrics().contains(m)) {
                            measure(w, m, settings.warmup());
                        }
                    }
                }
            }
            Map<World, List<Map<Metric, double[]>>> rounds = new LinkedHashMap<>();
            worlds.forEach(w -> rounds.put(w, new ArrayList<>()));
            for (int round = 1; round <= settings.rounds(); round++) {
                Map<World, Map<Metric, double[]>> results = new LinkedHashMap<>();
                worlds.forEach(w -> results.put(w, new EnumMap<>(Metric.class)));
                for (Metric m : Metric.values()) {
                    boolean kernelFirst = round % 2 == 1;
                    for (World w : kernelFirst ? worlds : worlds.reversed()) {
                        if (!w.metrics().contains(m)) {
                            continue;
                        }
                        double[] v = measure(w, m, settings.measure());
                        results.get(w).put(m, v);
                        progress.accept(String.format("bench: round %d/%d %-22s %-10s %s", round, settings.rounds(),
                                m.name().toLowerCase(), w.name(), Arrays.toString(round2(v))));
                    }
                }
                worlds.forEach(w -> rounds.get(w).add(results.get(w)));
            }
            Map<Metric, double[]> kernelResults = medians(rounds.get(kernel), kernel.metrics());
            Map<Metric, double[]> oursResults = medians(rounds.get(ours), ours.metrics());
            Map<Metric, double[]> threadedResults = medians(rounds.get(threaded), threaded.metrics());
            List<BenchRow> rows = rows(kernelResults, oursResults);
            progress.accept("bench: heap per flow at " + settings.flowsForMemory() + " flows");
            double perFlow = FlowMemory.bytesPerFlow(settings.flowsForMemory());
            int conntrack = KernelRouter.conntrackEntryBytes();
            rows.add(BenchRow.of("heap-per-flow", "bytes", conntrack > 0 ? conntrack : REFERENCE_CONNTRACK_BYTES, perFlow, "lower"));
            rows.addAll(threadRows(kernelResults, oursResults, threadedResults));
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("date", Instant.now().toString());
            run.put("kernel", System.getProperty("os.version"));
            run.put("cpus", Runtime.getRuntime().availableProcessors());
            run.put("java", Runtime.version().toString());
            run.put("measureSeconds", settings.measure().toSeconds());
            run.put("rounds", settings.rounds());
            run.put("warmupSeconds", settings.warmup().toSeconds());
            run.put("flowsForMemory", settings.flowsForMemory());
            run.put("threads", Map.of(OURS_PREFIX, 1, THREADS_PREFIX, THREADS));
            run.put("udp64BThreadScaling", threadedResults.get(Metric.UDP_64B_2_FLOWS)[0] / oursResults.get(Metric.UDP_64B_2_FLOWS)[0]);
            run.put("conntrackEntryBytes", conntrack > 0 ? "/proc/slabinfo nf_conntrack objsize" : "reference value " + REFERENCE_CONNTRACK_BYTES);
            return new BenchReport(rows, run);
        } finally {
            servers.forEach(Process::destroy);
            if (!settings.keep()) {
                for (World w : built.reversed()) {
                    try {
                        w.lab().down();
                    } catch (RuntimeException e) {
                        progress.accept("bench: " + w.name() + " lab down failed: " + e.getMessage());
                    }
                }
            }
        }
    }

    private World world(String name, String prefix, LabSpec base, Settings settings, Set<Metric> metrics) {
        return new World(name, prefix, new Lab(settings.stateRoot().resolve(prefix), line -> progress.accept("  " + line)),
                base.withPrefix(prefix), metrics);
    }

    /** The node command with its forwarding threads set (the lab appends the rest). */
    private static NodeLauncher withThreads(NodeLauncher launcher, int threads) {
        List<String> command = new ArrayList<>(launcher.command());
        command.addAll(List.of("--threads", String.valueOf(threads)));
        return new NodeLauncher(command);
    }

    /**
     * The thread rows, each against the kernel's figure for the same command: 64-byte UDP from
     * two flows on the node of one thread and of two (their ratio is the scaling), and the
     * threaded node's 4 streams and 4 clients.
     */
    private static List<BenchRow> threadRows(Map<Metric, double[]> kernel, Map<Metric, double[]> ours, Map<Metric, double[]> threaded) {
        List<BenchRow> rows = new ArrayList<>();
        rows.add(BenchRow.of("udp-64B-2-flows-1-thread", "pkt/s", kernel.get(Metric.UDP_64B_2_FLOWS)[0], ours.get(Metric.UDP_64B_2_FLOWS)[0],
                "higher"));
        rows.add(BenchRow.of("udp-64B-2-flows-" + THREADS + "-threads", "pkt/s", kernel.get(Metric.UDP_64B_2_FLOWS)[0],
                threaded.get(Metric.UDP_64B_2_FLOWS)[0], "higher"));
        rows.add(BenchRow.of("tcp-4-streams-" + THREADS + "-threads", "Gbit/s", kernel.get(Metric.TCP_4_STREAMS_SPREAD)[0],
                threaded.get(Metric.TCP_4_STREAMS_SPREAD)[0], "higher"));
        rows.add(BenchRow.of("connections-4-clients-" + THREADS + "-threads", "conn/s", kernel.get(Metric.CONNECTIONS_4_CLIENTS)[0],
                threaded.get(Metric.CONNECTIONS_4_CLIENTS)[0], "higher"));
        return rows;
    }

    private static List<BenchRow> rows(Map<Metric, double[]> kernel, Map<Metric, double[]> ours) {
        List<BenchRow> rows = new ArrayList<>();
        rows.add(BenchRow.of("tcp-1-stream", "Gbit/s", kernel.get(Metric.TCP_1_STREAM)[0], ours.get(Metric.TCP_1_STREAM)[0], "higher"));
        rows.add(BenchRow.of("tcp-4-streams", "Gbit/s", kernel.get(Metric.TCP_4_STREAMS)[0], ours.get(Metric.TCP_4_STREAMS)[0], "higher"));
        rows.add(BenchRow.of("udp-64B-received", "pkt/s", kernel.get(Metric.UDP_64B)[0], ours.get(Metric.UDP_64B)[0], "higher"));
        rows.add(BenchRow.of("tcp-rr-1B-p50", "us", kernel.get(Metric.REQUEST_RESPONSE)[0], ours.get(Metric.REQUEST_RESPONSE)[0], "lower"));
        rows.add(BenchRow.of("tcp-rr-1B-p99", "us", kernel.get(Metric.REQUEST_RESPONSE)[1], ours.get(Metric.REQUEST_RESPONSE)[1], "lower"));
        rows.add(BenchRow.of("connections-1-client", "conn/s", kernel.get(Metric.CONNECTIONS_1_CLIENT)[0], ours.get(Metric.CONNECTIONS_1_CLIENT)[0], "higher"));
        rows.add(BenchRow.of("connections-4-clients", "conn/s", kernel.get(Metric.CONNECTIONS_4_CLIENTS)[0], ours.get(Metric.CONNECTIONS_4_CLIENTS)[0], "higher"));
        rows.add(BenchRow.of("nat-gateway-tcp-1-stream", "Gbit/s", kernel.get(Metric.NAT_TCP_1_STREAM)[0], ours.get(Metric.NAT_TCP_1_STREAM)[0], "higher"));
        rows.add(BenchRow.of("nat-gateway-tcp-4-streams", "Gbit/s", kernel.get(Metric.NAT_TCP_4_STREAMS)[0], ours.get(Metric.NAT_TCP_4_STREAMS)[0], "higher"));
        rows.add(BenchRow.of("nat-gateway-connections-4-clients", "conn/s", kernel.get(Metric.NAT_CONNECTIONS_4_CLIENTS)[0],
                ours.get(Metric.NAT_CONNECTIONS_4_CLIENTS)[0], "higher"));
        return rows;
    }

    private double[] measure(World w, Metric metric, Duration duration) {
        long ms = duration.toMillis();
        int seconds = (int) Math.max(1, duration.toSeconds());
        return switch (metric) {
            case TCP_1_STREAM -> new double[] {iperfTcp(w, "ee1", 1, seconds)};
            case TCP_4_STREAMS -> new double[] {iperfTcp(w, "ee1", 4, seconds)};
            case NAT_TCP_1_STREAM -> new double[] {iperfTcp(w, NAT_CLIENT, 1, seconds)};
            case NAT_TCP_4_STREAMS -> new double[] {iperfTcp(w, NAT_CLIENT, 4, seconds)};
            case NAT_CONNECTIONS_4_CLIENTS -> new double[] {connections(w, NAT_CLIENT, 4, ms)};
            case UDP_64B -> new double[] {iperfUdp(w, seconds)};
            case UDP_64B_2_FLOWS -> new double[] {iperfUdp(w, seconds, "-P", "2", "--cport", String.valueOf(nextClientPorts(2)))};
            case TCP_4_STREAMS_SPREAD -> new double[] {iperfTcp(w, "ee1", 4, seconds, "--cport", String.valueOf(nextClientPorts(4)))};
            case REQUEST_RESPONSE -> {
                JsonNode r = probe(w, "ee1", "rr", ECHO, "--duration-ms", String.valueOf(ms));
                yield new double[] {r.path("p50Us").asDouble(), r.path("p99Us").asDouble()};
            }
            case CONNECTIONS_1_CLIENT -> new double[] {connections(w, "ee1", 1, ms)};
            case CONNECTIONS_4_CLIENTS -> new double[] {connections(w, "ee1", 4, ms)};
        };
    }

    private double iperfTcp(World w, String client, int streams, int seconds, String... extra) {
        List<String> args = new ArrayList<>(List.of("-P", String.valueOf(streams)));
        args.addAll(List.of(extra));
        JsonNode r = iperf(w, client, seconds, args.toArray(String[]::new));
        return r.path("end").path("sum_received").path("bits_per_second").asDouble() / 1e9;
    }

    /** 64-byte UDP datagrams offered as fast as iperf3 can send; packets per second that arrived. */
    private double iperfUdp(World w, int seconds, String... extra) {
        List<String> args = new ArrayList<>(List.of("-u", "-l", "64", "-b", "0"));
        args.addAll(List.of(extra));
        JsonNode sum = iperf(w, "ee1", seconds, args.toArray(String[]::new)).path("end").path("sum");
        double received = sum.path("packets").asDouble() - sum.path("lost_packets").asDouble();
        return received / Math.max(sum.path("seconds").asDouble(), 1e-9);
    }

    private JsonNode iperf(World w, String client, int seconds, String... extra) {
        List<String> command = new ArrayList<>(List.of("iperf3", "-c", SERVER, "-p", IPERF_PORT, "-t", String.valueOf(seconds),
                "-J", "--connect-timeout", "3000"));
        command.addAll(List.of(extra));
        ExecResult r = w.lab().exec(w.ns(client), Duration.ofSeconds(seconds + 30L), command.toArray(String[]::new));
        try {
            JsonNode json = JSON.readTree(r.stdout());
            if (!r.ok() || json.has("error")) {
                throw new IllegalStateException("iperf3 in " + w.ns(client) + " failed: " + json.path("error").asText(r.stderr().strip()));
            }
            return json;
        } catch (IOException e) {
            throw new IllegalStateException("iperf3 in " + w.ns(client) + " printed no JSON (exit " + r.exitCode() + "): " + r.stderr().strip(), e);
        }
    }

    private double connections(World w, String client, int clients, long ms) {
        JsonNode r = probe(w, client, "conn-rate", ECHO, "--clients", String.valueOf(clients), "--duration-ms", String.valueOf(ms));
        return r.path("connectionsPerSecond").asDouble();
    }

    private JsonNode probe(World w, String client, String... args) {
        JsonNode r = w.lab().probe(w.ns(client), args);
        if (!r.path("ok").asBoolean()) {
            throw new IllegalStateException("probe " + String.join(" ", args) + " in " + w.ns(client) + " failed: " + r);
        }
        return r;
    }

    /**
     * Lets connect-close loops reuse client ports in TIME_WAIT, in both worlds alike, and keeps
     * the client's routes as set (no ICMP redirect takes the NAT rows' traffic around the gateway).
     */
    private void tuneClient(World w, String client) {
        w.lab().exec(w.ns(client), Duration.ofSeconds(5), "sh", "-c", "echo 1 > /proc/sys/net/ipv4/tcp_tw_reuse"
                + " && echo 0 > /proc/sys/net/ipv4/conf/all/accept_redirects");
    }

    /** Gives our node the NAT gateway: the lab's snapshot plus it, as a new version the node reloads. */
    private void addNatGateway(World w, LabStatus.NodeStatus node) throws IOException {
        NodeSnapshot lab = SnapshotFactory.snapshot(w.spec());
        NodeSnapshot withNat = new NodeSnapshot(lab.version() + 1, lab.eeGateway(), lab.vpcs(), lab.subnets(), lab.securityGroups(),
                lab.networkAcls(), lab.routeTables(), lab.enis(), lab.executionEnvironments(), List.of(NAT_GATEWAY));
        SnapshotJson.writeAtomically(withNat, Path.of(node.config()));
        Path counters = Path.of(node.counters());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (CountersFile.read(counters).get(Counter.CONFIG_VERSION) != withNat.version()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("node " + node.name() + " did not load the NAT gateway's snapshot from " + node.config());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    private static Process startIperfServer(World w) throws IOException {
        return new ProcessBuilder("ip", "netns", "exec", w.ns("res1"), "iperf3", "-s", "-p", IPERF_PORT)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static void awaitListening(World w) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            ExecResult r = w.lab().exec(w.ns("res1"), Duration.ofSeconds(5), "ss", "-Hltn", "sport", "=", ":" + IPERF_PORT);
            if (r.ok() && !r.stdout().isBlank()) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("iperf3 server in " + w.ns("res1") + " did not start listening on " + IPERF_PORT);
    }

    /**
     * The first of {@code streams} consecutive client ports (iperf3 gives stream i the port
     * {@code --cport} + i) that the threaded node's steering spreads evenly over its threads,
     * from the next unused block.
     */
    private int nextClientPorts(int streams) {
        ThreadSteering steering = new ThreadSteering(THREADS);
        while (true) {
            int base = FIRST_CLIENT_PORT + clientPortBlock * CLIENT_PORT_BLOCK;
            clientPortBlock = (clientPortBlock + 1) % CLIENT_PORT_BLOCKS;
            int[] perThread = new int[THREADS];
            for (int i = 0; i < streams; i++) {
                perThread[steering.thread(base + i + Integer.parseInt(IPERF_PORT))]++;
            }
            if (Arrays.stream(perThread).allMatch(n -> n == streams / THREADS)) {
                return base;
            }
        }
    }

    private static Map<Metric, double[]> medians(List<Map<Metric, double[]>> rounds, Set<Metric> metrics) {
        Map<Metric, double[]> out = new EnumMap<>(Metric.class);
        for (Metric m : metrics) {
            out.put(m, medians(rounds, m));
        }
        return out;
    }

    private static double[] medians(List<Map<Metric, double[]>> rounds, Metric m) {
        int width = rounds.getFirst().get(m).length;
        double[] out = new double[width];
        for (int i = 0; i < width; i++) {
            double[] values = new double[rounds.size()];
            for (int r = 0; r < rounds.size(); r++) {
                values[r] = rounds.get(r).get(m)[i];
            }
            Arrays.sort(values);
            int n = values.length;
            out[i] = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
        }
        return out;
    }

    private static double[] round2(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.round(v[i] * 100) / 100.0;
        }
        return out;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ForwarderBench.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
