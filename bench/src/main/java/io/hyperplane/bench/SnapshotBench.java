package io.hyperplane.bench;

import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.nodes.NodeConfigBuilder;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.linux.Directories;
import io.hyperplane.metrics.LatencyRecorder;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.sigv4.Credential;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code hyperplane bench snapshot}: what one node configuration costs with many ENIs, on both
 * sides. Build: the control plane reads the store and assembles the snapshot ENI by ENI
 * ({@link NodeConfigBuilder}, admission included); validate: the snapshot's own checks; JSON out
 * and in: what travels to a node; apply: the node compiles it for the hot path. Two stores of
 * the same size, measured in one run: a baseline where every address is distinct, and one where
 * half of the ENIs sit at the same addresses in many VPCs (10.0.0.0/16 everywhere), so the
 * ratio shows what overlapping address spaces cost.
 */
public final class SnapshotBench {
    /** {@code enis} in all, half of them in the VPCs that may overlap; {@code runs} measured per phase. */
    public record Settings(int enis, int vpcs, int runs, int warmups) {
        public static final Settings DEFAULTS = new Settings(10_000, 50, 7, 3);

        public Settings {
            if (enis < 2 * vpcs || vpcs < 1 || enis / 2 / vpcs > 250) {
                throw new IllegalArgumentException("enis " + enis + ", vpcs " + vpcs + ": need 2..500 ENIs per VPC pair");
            }
        }
    }

    /** Median milliseconds per phase (p50 as {@link LatencyRecorder} defines it), for the baseline and the overlapping store. */
    public record Row(String phase, double distinctMs, double overlappingMs) {
        public double ratio() {
            return overlappingMs / distinctMs;
        }
    }

    private static final List<String> PHASES = List.of("build (store -> snapshot)", "validate", "json out", "json in", "apply (compile)");

    private final Consumer<String> progress;

    public SnapshotBench(Consumer<String> progress) {
        this.progress = progress;
    }

    public List<Row> run(Settings settings) throws IOException, SQLException, InterruptedException {
        Path distinctDir = Files.createTempDirectory("hp-bench-snapshot");
        Path overlappingDir = Files.createTempDirectory("hp-bench-snapshot");
        // No function uses the ENIs written below: a long grace keeps the reconciler from collecting them meanwhile.
        FunctionReconciler.Settings keep = FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ofDays(1));
        try (ControlPlaneServer distinct = ControlPlaneServer.start(new ControlPlaneServer.Settings(distinctDir, "127.0.0.1", 0, null, null, null)
                .withFunctions(keep));
             ControlPlaneServer overlapping = ControlPlaneServer.start(new ControlPlaneServer.Settings(overlappingDir, "127.0.0.1", 0, null, null, null)
                     .withFunctions(keep))) {
            progress.accept("bench snapshot: " + settings.enis() + " ENIs in each of two stores: every address distinct (baseline), and half of"
                    + " them at the same addresses in " + settings.vpcs() + " VPCs of 10.0.0.0/16");
            populate(distinct, settings, false);
            populate(overlapping, settings, true);
            Map<String, LatencyRecorder> distinctSamples = samples();
            Map<String, LatencyRecorder> overlappingSamples = samples();
            try (Connection a = DriverManager.getConnection(distinct.databaseUrl(), "sa", "");
                 Connection b = DriverManager.getConnection(overlapping.databaseUrl(), "sa", "")) {
                for (int run = -settings.warmups(); run < settings.runs(); run++) { // interleaved: the machine's noise falls on both
                    once(a, settings, run, distinctSamples);
                    once(b, settings, run, overlappingSamples);
                }
            }
            List<Row> rows = new ArrayList<>();
            for (String phase : PHASES) {
                rows.add(new Row(phase, median(distinctSamples.get(phase)), median(overlappingSamples.get(phase))));
            }
            return rows;
        } finally {
            Directories.deleteTree(distinctDir);
            Directories.deleteTree(overlappingDir);
        }
    }

    public static String table(List<Row> rows) {
        StringBuilder s = new StringBuilder(String.format("%-28s %14s %16s %8s%n", "phase", "distinct ms", "overlapping ms", "ratio"));
        for (Row r : rows) {
            s.append(String.format("%-28s %14.2f %16.2f %8.2f%n", r.phase(), r.distinctMs(), r.overlappingMs(), r.ratio()));
        }
        return s.toString();
    }

    private static Map<String, LatencyRecorder> samples() {
        Map<String, LatencyRecorder> samples = new LinkedHashMap<>();
        PHASES.forEach(p -> samples.put(p, new LatencyRecorder()));
        return samples;
    }

    private static double median(LatencyRecorder times) {
        return times.percentileNanos(50) / 1e6;
    }

    /** One build, validation, JSON round trip and compile; recorded when {@code run} is not a warm-up. */
    private static void once(Connection c, Settings settings, int run, Map<String, LatencyRecorder> samples) throws SQLException {
        long t0 = System.nanoTime();
        NodeConfigBuilder.Build build = NodeConfigBuilder.build(c);
        long t1 = System.nanoTime();
        NodeSnapshot s = build.snapshot();
        NodeSnapshot validated = new NodeSnapshot(1, s.eeGateway(), s.vpcs(), s.subnets(), s.securityGroups(), s.networkAcls(),
                s.routeTables(), s.enis(), s.executionEnvironments());
        long t2 = System.nanoTime();
        String json = SnapshotJson.write(validated);
        long t3 = System.nanoTime();
        NodeSnapshot received = SnapshotJson.parse(json);
        long t4 = System.nanoTime();
        CompiledConfig compiled = CompiledConfig.compile(received);
        long t5 = System.nanoTime();
        if (!build.rejectedEnis().isEmpty() || compiled.eniCount() != settings.enis() + 1) { // + the service egress's, in every snapshot
            throw new IllegalStateException("snapshot has " + compiled.eniCount() + " ENIs of " + settings.enis() + "; rejected: "
                    + build.rejectedEnis().entrySet().stream().limit(3).toList());
        }
        if (run >= 0) {
            List<Long> times = List.of(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4);
            for (int p = 0; p < PHASES.size(); p++) {
                samples.get(PHASES.get(p)).recordNanos(times.get(p));
            }
        }
    }

    /**
     * One VPC of its own account per tenant (as many accounts as VPCs, so no account's VPC quota
     * is in the way), made through the EC2 API; the ENIs are written straight into the store, as
     * the reconciler would, since the API's ENI creation is rate-limited as AWS's is.
     */
    private static void populate(ControlPlaneServer server, Settings settings, boolean overlapping)
            throws IOException, InterruptedException, SQLException {
        int perVpc = settings.enis() / 2 / settings.vpcs();
        List<String[]> subnets = new ArrayList<>(); // subnet, vpc, group, account, first address, count
        for (int v = 0; v < settings.vpcs(); v++) {
            String base = overlapping ? "10.0" : "10." + (v + 1);
            subnets.add(tenant(server, base + ".0.0/16", base + ".1.0/24", base + ".1.4", perVpc));
        }
        subnets.add(tenant(server, "10.200.0.0/16", "10.200.0.0/16", "10.200.0.4", settings.enis() - perVpc * settings.vpcs()));
        Timestamp now = Timestamp.from(Instant.now());
        try (Connection c = DriverManager.getConnection(server.databaseUrl(), "sa", "")) {
            c.setAutoCommit(false);
            try (PreparedStatement eni = c.prepareStatement("INSERT INTO network_interfaces (id, account_id, vpc_id, subnet_id, group_key,"
                    + " private_ip, mac, status, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'in-use', 'bench', ?)");
                 PreparedStatement member = c.prepareStatement("INSERT INTO network_interface_groups (eni_id, group_id) VALUES (?, ?)")) {
                int n = 0;
                for (String[] s : subnets) {
                    int first = Ipv4Address.parse(s[4]);
                    for (int i = 0; i < Integer.parseInt(s[5]); i++, n++) {
                        String id = String.format("eni-%017x", n);
                        eni.setString(1, id);
                        eni.setString(2, s[3]);
                        eni.setString(3, s[1]);
                        eni.setString(4, s[0]);
                        eni.setString(5, s[2] + "#" + i); // one ENI per (subnet, group set): distinct sets, one real group
                        eni.setString(6, Ipv4Address.format(first + i));
                        eni.setString(7, String.format("02:48:50:%02x:%02x:%02x", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff));
                        eni.setTimestamp(8, now);
                        eni.addBatch();
                        member.setString(1, id);
                        member.setString(2, s[2]);
                        member.addBatch();
                    }
                }
                eni.executeBatch();
                member.executeBatch();
            }
            c.commit();
        }
    }

    private static String[] tenant(ControlPlaneServer server, String vpcCidr, String subnetCidr, String first, int enis)
            throws IOException, InterruptedException {
        Credential account = server.accounts().create();
        Ec2QueryClient ec2 = new Ec2QueryClient(server.endpoint(), account);
        String vpc = Ec2QueryClient.text(ec2.call("CreateVpc", Map.of("CidrBlock", vpcCidr)), "vpcId");
        String subnet = Ec2QueryClient.text(ec2.call("CreateSubnet", Map.of("VpcId", vpc, "CidrBlock", subnetCidr)), "subnetId");
        String group = Ec2QueryClient.text(ec2.call("CreateSecurityGroup", Map.of("VpcId", vpc, "GroupName", "fn", "GroupDescription", "fn")),
                "groupId");
        return new String[] {subnet, vpc, group, account.accountId(), first, Integer.toString(enis)};
    }
}
