package io.hyperplane.cli;

import io.hyperplane.sigv4.Credential;
import io.hyperplane.control.ec2.Ec2Quotas;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.lambda.LegacyEnis;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.lab.spec.LabSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Run the whole system on this machine until Ctrl-C or SIGTERM: the control plane (embedded H2 in the data directory)",
                "with the lab fabric, forwarder nodes (--nodes, default " + LocalCloud.DEFAULT_NODES + "), and two workers (the shared-ENI model, and the legacy model for invocations",
                "that ask for it with X-Hyperplane-Network-Model: legacy). A second 'up' on the same data directory restores",
                "functions, VPCs and ENIs (with their addresses). Stopping removes every namespace and process it made."})
final class UpCommand implements Callable<Integer> {
    /** Where the commands keep their state by default, each in a directory of its own below it. */
    static final String STATE_ROOT = "/var/lib/hyperplane";
    static final String DEFAULT_DATA_DIR = STATE_ROOT + "/up";
    static final String PREFIX = "hp-up-";
    /** The control plane's and the fabric's logs, in the data directory beside the node's and workers' own. */
    static final String LOG_FILE = "up.log";

    @Option(names = "--data-dir", defaultValue = DEFAULT_DATA_DIR, paramLabel = "DIR",
            description = "State: the store, the credentials, the node's and workers' files (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--listen", defaultValue = ServerCommand.DEFAULT_LISTEN, paramLabel = "HOST:PORT",
            description = "Where the APIs are served (default: ${DEFAULT-VALUE}, loopback only).")
    String listen;

    @Option(names = "--legacy-eni-latency", defaultValue = "3000", paramLabel = "MS",
            description = "Legacy model: how long creating an environment's own ENI takes (default: ${DEFAULT-VALUE}).")
    long legacyLatencyMs;

    @Option(names = "--nodes", defaultValue = "" + LocalCloud.DEFAULT_NODES, paramLabel = "N",
            description = "Forwarder nodes, 1.." + LabSpec.MAX_NODES + ": node k runs in namespace " + PREFIX + "node k (node 1: " + PREFIX
                    + "node) at underlay address 198.18.0.k (default: ${DEFAULT-VALUE}).")
    int nodes;

    @Mixin
    QuotaOptions quotas;

    @Mixin
    VerboseOption verbose;

    @Mixin
    UplinkOptions uplink;

    static LocalCloud.Settings settings(Path dataDir, String listen, String prefix) {
        return settings(dataDir, listen, prefix, LegacyEnis.Settings.DEFAULTS.latency(), Ec2Quotas.AWS_DEFAULTS);
    }

    static LocalCloud.Settings settings(Path dataDir, String listen, String prefix, Duration legacyLatency, Ec2Quotas quotas) {
        LegacyEnis.Settings legacy = LegacyEnis.Settings.DEFAULTS;
        ControlPlaneServer.Settings server = ControlPlaneServer.Settings.local(dataDir, listen)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ofSeconds(10)))
                .withLegacyEnis(new LegacyEnis.Settings(legacy.bucket(), legacy.refillPerSecond(), legacyLatency, legacy.throttleWait()))
                .withQuotas(quotas);
        return new LocalCloud.Settings(server, prefix, prefix.equals(PREFIX) ? "w" : "d", "shared", Duration.ofMinutes(5), 64, true);
    }

    @Override
    public Integer call() throws Exception {
        PrivateFiles.createDirectories(dataDir);
        // Not closed: the shutdown hook's own logs (the fabric and processes going) belong in the file too.
        ConsoleLogs logs = verbose.start(dataDir.resolve(LOG_FILE));
        try {
            return runUntilStopped();
        } catch (Exception e) {
            throw logs.withDetails(e);
        }
    }

    private int runUntilStopped() throws Exception {
        long t0 = System.nanoTime();
        Path marker = dataDir.resolve("up.endpoint");
        UntilStopped<LocalCloud> run = new UntilStopped<>("hp-up-shutdown", cloud -> {
            System.out.println("stopping: workers, node, control plane, fabric");
            cloud.close();
            try {
                Files.deleteIfExists(marker);
            } catch (IOException e) {
                System.out.println("  " + marker + ": " + e.getMessage());
            }
            System.out.println("stopped; every namespace and process is gone");
        });
        LocalCloud cloud;
        try {
            LocalCloud.Settings settings = settings(dataDir, listen, PREFIX, Duration.ofMillis(legacyLatencyMs), quotas.quotas())
                    .withOutside(uplink.outside()).withNodes(nodes);
            cloud = run.start(() -> LocalCloud.start(settings,
                    line -> System.out.println("  " + line), run::stopping));
        } catch (Exception e) {
            if (!run.stopping()) {
                throw e;
            }
            // Stopped while starting: the start removed what it had made.
            System.out.println("stopped while starting; every namespace and process is gone");
            run.awaitStop();
            return 0;
        }
        // Only now, when an Invoke would succeed (the control plane serves, the node and the workers are live), does up say where it is.
        run.announce(() -> announce(cloud, t0, marker));
        run.awaitStop();
        return 0;
    }

    private static void announce(LocalCloud cloud, long t0, Path marker) {
        try {
            Files.writeString(marker, cloud.server().endpoint() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Credential c = cloud.server().defaultCredential();
        System.out.printf("%nhyperplane is up (%.1f s): %s%n", (System.nanoTime() - t0) / 1e9, cloud.server().endpoint());
        System.out.println("  forwarder nodes:");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"    NODE", "NAMESPACE", "UNDERLAY", "PID", "LOG"});
        for (LocalCloud.Node node : cloud.nodes()) {
            rows.add(new String[] {"    " + node.name(), node.namespace(), node.underlayIp(), Long.toString(node.pid()), node.log().toString()});
        }
        Table.print(new PrintWriter(System.out), rows); // it flushes
        System.out.println("  credentials (also in " + cloud.server().credentialsFile() + "):");
        System.out.println("    aws_access_key_id     = " + c.accessKeyId());
        System.out.println("    aws_secret_access_key = " + c.secretAccessKey());
        System.out.println("  try:");
        System.out.println("    export AWS_SHARED_CREDENTIALS_FILE=" + cloud.server().credentialsFile().toAbsolutePath());
        System.out.println("    aws --region us-east-1 --endpoint-url " + cloud.server().endpoint() + " ec2 create-vpc --cidr-block 10.0.0.0/16");
        System.out.println("    aws --region us-east-1 --endpoint-url " + cloud.server().endpoint() + " lambda list-functions");
        System.out.println("    ./hyperplane demo        # the demo against this system");
        System.out.println("    ./hyperplane nodes --token-file " + cloud.tokenFile() + "        # each node's share of the flows");
        System.out.println("  Ctrl-C stops everything.");
        System.out.flush();
    }
}
