package io.hyperplane.cli;

import io.hyperplane.config.fabric.Fabric;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.lambda.InvocationService;
import io.hyperplane.control.lambda.LegacyEnis;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.control.server.ControlPlaneServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run the control plane: AWS-compatible APIs (EC2, IAM and Lambda subsets) over a persistent store, the ENI"
                + " reconciler, and the configuration forwarder nodes fetch (hyperplane node --control).")
final class ServerCommand implements Callable<Integer> {
    static final String DEFAULT_LISTEN = "127.0.0.1:8765";

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "State: the embedded database and the credentials file.")
    Path dataDir;

    @Option(names = "--listen", defaultValue = DEFAULT_LISTEN, paramLabel = "HOST:PORT",
            description = "Address to serve on (default: ${DEFAULT-VALUE}, loopback only).")
    String listen;

    @Option(names = "--jdbc-url", paramLabel = "URL", description = "Use this database instead of embedded H2, e.g. jdbc:postgresql://localhost/hyperplane.")
    String jdbcUrl;

    @Option(names = "--jdbc-user", description = "Database user (with --jdbc-url).")
    String jdbcUser;

    @Option(names = "--jdbc-password", description = "Database password (with --jdbc-url).")
    String jdbcPassword;

    @Option(names = "--fabric", defaultValue = "lab", description = "Where VPCs and instances become networks: lab (namespaces on this"
            + " machine, needs root) or none (the API alone). Default: ${DEFAULT-VALUE}.")
    String fabric;

    @Option(names = "--fabric-prefix", defaultValue = LabFabric.DEFAULT_PREFIX,
            description = "Name prefix of the lab fabric's namespaces; one server per prefix (default: ${DEFAULT-VALUE}).")
    String fabricPrefix;

    @Option(names = "--eni-quota", defaultValue = "500", paramLabel = "N",
            description = "Hyperplane ENIs per VPC (Lambda's quota; default: ${DEFAULT-VALUE}).")
    int eniQuota;

    @Option(names = "--eni-grace", defaultValue = "30", paramLabel = "SECONDS",
            description = "How long an ENI no function uses is kept before it is deleted (AWS: up to 20 minutes; default: ${DEFAULT-VALUE}).")
    long eniGrace;

    @Option(names = "--idle-after", defaultValue = "1209600", paramLabel = "SECONDS",
            description = "A function not invoked this long becomes Inactive and its ENIs are reclaimed (AWS: 14 days; default: ${DEFAULT-VALUE}).")
    long idleAfter;

    @Option(names = "--programming-timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "How long a new ENI may take to reach every live forwarder node before the function fails with InternalError"
                    + " (default: ${DEFAULT-VALUE}).")
    long programmingTimeout;

    @Option(names = "--account-concurrency", defaultValue = "1000", paramLabel = "N",
            description = "Concurrent executions per account (default: ${DEFAULT-VALUE}).")
    int accountConcurrency;

    @Mixin
    QuotaOptions quotas;

    @Option(names = "--event-delay-scale", defaultValue = "1.0", paramLabel = "FACTOR",
            description = "Multiplies the delays between retries of asynchronous invocations (Lambda: 1 and 2 minutes after a function"
                    + " error, backoff from 1 s to 5 minutes after a throttle); e.g. 0.001 for tests (default: ${DEFAULT-VALUE}).")
    double eventDelayScale;

    @Option(names = "--events-per-account", defaultValue = "" + InvocationService.Settings.DEFAULT_EVENTS_PER_ACCOUNT, paramLabel = "N",
            description = "Asynchronous invocations an account may have waiting; past it Invoke answers TooManyRequestsException"
                    + " (default: ${DEFAULT-VALUE}).")
    int eventsPerAccount;

    @Option(names = "--legacy-eni-latency", defaultValue = "3000", paramLabel = "MS",
            description = "Legacy model: how long creating an environment's own ENI takes (reported 10-30 s on AWS before 2019;"
                    + " default: ${DEFAULT-VALUE}).")
    long legacyLatencyMs;

    @Option(names = "--legacy-eni-bucket", defaultValue = "100", paramLabel = "N",
            description = "Legacy model: EC2's CreateNetworkInterface token bucket size (default: ${DEFAULT-VALUE}).")
    int legacyBucket;

    @Option(names = "--legacy-eni-refill", defaultValue = "5", paramLabel = "PER_SECOND",
            description = "Legacy model: the bucket's refill rate (default: ${DEFAULT-VALUE}).")
    double legacyRefill;

    @Mixin
    UplinkOptions uplink;

    @Override
    public Integer call() throws Exception {
        ControlPlaneServer.Settings settings = ControlPlaneServer.Settings.local(dataDir, listen)
                .withLegacyEnis(new LegacyEnis.Settings(legacyBucket, legacyRefill, Duration.ofMillis(legacyLatencyMs),
                        LegacyEnis.Settings.DEFAULTS.throttleWait()))
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniQuotaPerVpc(eniQuota).withEniGrace(Duration.ofSeconds(eniGrace))
                        .withIdleAfter(Duration.ofSeconds(idleAfter)).withProgrammingTimeout(Duration.ofSeconds(programmingTimeout)))
                .withAccountConcurrency(accountConcurrency)
                .withInvocations(InvocationService.Settings.DEFAULTS.withEventDelayScale(eventDelayScale).withEventsPerAccount(eventsPerAccount))
                .withQuotas(quotas.quotas());
        if (jdbcUrl != null) {
            settings = settings.withDatabase(jdbcUrl, jdbcUser, jdbcPassword);
        }
        Fabric networks = switch (fabric) {
            case "none" -> Fabric.NONE;
            case "lab" -> {
                if (!"root".equals(System.getProperty("user.name"))) {
                    throw new IllegalArgumentException("--fabric lab builds network namespaces and needs root; use --fabric none for the API alone");
                }
                yield new LabFabric(Lab.DEFAULT_STATE_ROOT.resolve(fabricPrefix), fabricPrefix, uplink.outside(), System.out::println);
            }
            default -> throw new IllegalArgumentException("--fabric " + fabric + ": expected lab or none");
        };
        UntilStopped<ControlPlaneServer> run = new UntilStopped<>("hp-server-shutdown", ControlPlaneServer::close);
        ControlPlaneServer.Settings chosen = settings;
        ControlPlaneServer server = run.start(() -> ControlPlaneServer.start(chosen, networks));
        run.announce(() -> announce(server, chosen));
        run.awaitStop();
        return 0;
    }

    private static void announce(ControlPlaneServer server, ControlPlaneServer.Settings settings) {
        System.out.println("hyperplane server ready: " + server.endpoint() + " (store " + server.databaseUrl() + ")");
        Credential credential = server.defaultCredential();
        if (server.createdDefaultAccount()) {
            System.out.println("created the default account " + credential.accountId() + "; its key is in " + server.credentialsFile() + ":");
            System.out.println("  aws_access_key_id     = " + credential.accessKeyId());
            System.out.println("  aws_secret_access_key = " + credential.secretAccessKey());
        }
        System.out.println("try:");
        System.out.println("  AWS_SHARED_CREDENTIALS_FILE=" + server.credentialsFile().toAbsolutePath()
                + " aws --region us-east-1 --endpoint-url " + server.endpoint() + " ec2 describe-vpcs");
        System.out.println("forwarder nodes: hyperplane node --control " + server.endpoint() + " --token-file "
                + settings.dataDir().resolve("node-token").toAbsolutePath() + " --listen 0.0.0.0:4789 --underlay-ip UNDERLAY_IP [--netns NS] (NS with "
                + FleetPlan.ANYCAST + "/32 on lo)");
        System.out.flush();
    }
}
