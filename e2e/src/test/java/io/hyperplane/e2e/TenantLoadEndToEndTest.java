package io.hyperplane.e2e;

import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.linux.Directories;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.DefaultRetryStrategy;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.State;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One tenant's load does not stop the control plane for the fleet or for other tenants (issue 13,
 * point 7), on the real system: control plane, forwarder node and worker, functions in sandboxes.
 * <p>Account A sends 300 synchronous Invokes of a function that sleeps, all at once: more than the
 * HTTP server's 250 request threads, which a blocking Invoke would take one each of. The control
 * plane hands every one to the worker, which starts an execution environment for each (Lambda
 * runs one invocation per environment; reserved concurrency would throttle them, not queue them),
 * so all 300 are open at the control plane at once, however far the worker has got. On two cores
 * the worker needs about a minute to start 300 sandboxes (some would pass Lambda's 10 s init
 * limit): the test does not wait for that. With all 300 open, the forwarder node's and the
 * worker's heartbeats keep being answered (both stay live, while the worker's cold starts bind
 * their networks over the fleet's WebSocket), and account B's CreateFunction, in a VPC of its own,
 * becomes Active, which takes the reconciler, the node's configuration stream and its
 * acknowledgement. Then the worker is killed, as a crash would: every Invoke is answered (the
 * worker's error) and releases its concurrency, and the restarted worker removes what the killed
 * one left, the system's own path after a crash.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class TenantLoadEndToEndTest {
    private static final int HELD_INVOKES = 300;
    /** Longer than the test: no invocation finishes on its own. */
    private static final int SLEEP_SECONDS = 100;
    /** How long the control plane may take to have all 300 open, and then B's function to become Active. */
    private static final Duration WINDOW = Duration.ofSeconds(30);
    /** A node or worker is live while its last heartbeat (one a second) is younger than this. */
    private static final Duration LIVENESS = Duration.ofSeconds(3);
    private static final String SLEEPER = """
            import time

            def handler(event, context):
                time.sleep(event["seconds"])
                return "slept"
            """;

    private RuntimeWorld w;
    private boolean workerRestarted;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<AutoCloseable> clients = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        w = new RuntimeWorld("hp-tl-", "tl", "shared");
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
        http.shutdownNow();
        if (w != null) {
            try {
                if (!workerRestarted) {
                    // The test stopped half-way, the worker perhaps deep in its 300 cold starts: killed
                    // and restarted, it removes what it had made, which a SIGTERM might not finish in time.
                    w.cloud.killWorker();
                    w.cloud.startWorker("shared");
                }
            } finally {
                w.close();
                Directories.deleteTree(w.dir);
            }
        }
        assertThat(Namespaces.list()).as("no namespace of this test is left").noneMatch(n -> n.startsWith("hp-tl-") || n.startsWith("hp-ee-tl-"));
        assertThat(UidLeaseFiles.held("tl")).as("no uid leased").isEmpty();
    }

    @Test
    void shouldKeepTheFleetLiveAndAnotherTenantServedWhileOneHolds300SlowInvokesOpen() throws Exception {
        Network sleeperNetwork = network(w.ec2, "10.61.0.0/16", "10.61.1.0/24");
        String sleeperRole = role(w.iam, "sleeper-role");
        w.lambda.createFunction(b -> b.functionName("sleeper").role(sleeperRole).runtime("python3.12").handler("app.handler")
                .timeout(SLEEP_SECONDS + 20).memorySize(128).code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", SLEEPER)))))
                .vpcConfig(v -> v.subnetIds(sleeperNetwork.subnet()).securityGroupIds(sleeperNetwork.group())));
        w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("sleeper"), AwsClients.promptly());
        String account = w.server.defaultCredential().accountId();

        Credential other = w.server.accounts().create();
        Ec2Client otherEc2 = client(Ec2Client.builder().region(Region.US_EAST_1), other);
        IamClient otherIam = client(IamClient.builder().region(Region.AWS_GLOBAL), other);
        LambdaClient otherLambda = client(LambdaClient.builder().region(Region.US_EAST_1), other);
        Network otherNetwork = network(otherEc2, "10.62.0.0/16", "10.62.1.0/24");
        String otherRole = role(otherIam, "other-role");

        List<CompletableFuture<HttpResponse<String>>> invokes = new ArrayList<>();
        try (FleetWatch fleet = new FleetWatch()) {
            long t0 = System.nanoTime();
            for (int i = 0; i < HELD_INVOKES; i++) {
                invokes.add(invoke(w.server.defaultCredential(), "sleeper", "{\"seconds\":" + SLEEP_SECONDS + "}"));
            }
            await().atMost(WINDOW).until(() -> fleet.live() && w.server.invocations().unreservedInFlight(account) == HELD_INVOKES);
            System.out.printf("%d invokes open at the control plane after %d ms%n", HELD_INVOKES, (System.nanoTime() - t0) / 1_000_000);

            long b0 = System.nanoTime();
            otherLambda.createFunction(b -> b.functionName("other").role(otherRole).runtime("python3.12").handler("app.handler")
                    .code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", SLEEPER)))))
                    .vpcConfig(v -> v.subnetIds(otherNetwork.subnet()).securityGroupIds(otherNetwork.group())));
            await().atMost(WINDOW).until(() -> fleet.live() && otherLambda.getFunctionConfiguration(b -> b.functionName("other")).state() == State.ACTIVE);
            assertThat(w.server.invocations().unreservedInFlight(account)).as("all 300 open all along").isEqualTo(HELD_INVOKES);
            assertThat(fleet.live()).isTrue();
            System.out.printf("the other account's function Active after %d ms; the longest without a heartbeat answered: %s ms; worker: %s%n",
                    (System.nanoTime() - b0) / 1_000_000, fleet.oldestMs, w.workerMetrics());
        }

        w.cloud.killWorker();
        for (CompletableFuture<HttpResponse<String>> invoke : invokes) {
            HttpResponse<String> response = invoke.get(60, TimeUnit.SECONDS);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(500);
            assertThat(response.headers().firstValue("X-Amzn-ErrorType")).hasValue("ServiceException");
        }
        assertThat(w.server.invocations().unreservedInFlight(account)).as("every slot released").isZero();
        List<String> left = Namespaces.list().stream().filter(n -> n.startsWith("hp-ee-tl-")).toList();
        w.cloud.startWorker("shared");
        workerRestarted = true;
        assertThat(Namespaces.list()).as("the restarted worker removed the killed one's environments (it prepares new ones)")
                .doesNotContainAnyElementsOf(left);
        assertThat(UidLeaseFiles.held("tl")).as("and returned their uids").isEmpty();
    }

    /**
     * The node's and the worker's heartbeats as the control plane has them, sampled every 100 ms:
     * {@link #live} fails the test as soon as one was not answered for {@link #LIVENESS}.
     */
    private final class FleetWatch implements AutoCloseable {
        private final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
        private final Map<String, Long> oldestMs = new ConcurrentHashMap<>();
        private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();

        FleetWatch() {
            sample();
            sampler.scheduleAtFixedRate(this::sample, 100, 100, TimeUnit.MILLISECONDS);
        }

        private void sample() {
            w.server.nodes().all().forEach(n -> lastSeen.put("node " + n.name(), n.lastSeen()));
            w.server.workers().live().forEach(s -> lastSeen.put("worker " + s.name(), s.lastSeen())); // a dead one keeps its last
            Instant now = Instant.now();
            lastSeen.forEach((name, seen) -> oldestMs.merge(name, Duration.between(seen, now).toMillis(), Math::max));
        }

        /** True, or an AssertionError naming whose heartbeats went unanswered and for how long. */
        boolean live() {
            assertThat(oldestMs).as("the fleet's heartbeats kept being answered (the longest time each went without one, ms)")
                    .containsKeys("node n1", "worker tl").allSatisfy((name, ms) -> assertThat(ms).isLessThan(LIVENESS.toMillis()));
            return true;
        }

        @Override
        public void close() {
            sampler.shutdownNow();
        }
    }

    private record Network(String subnet, String group) {
    }

    /** A VPC with one subnet and a security group for functions. */
    private static Network network(Ec2Client ec2, String cidr, String subnetCidr) {
        String vpc = ec2.createVpc(b -> b.cidrBlock(cidr)).vpc().vpcId();
        return new Network(ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock(subnetCidr)).subnet().subnetId(),
                ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("functions").description("functions")).groupId());
    }

    private static String role(IamClient iam, String name) {
        String arn = iam.createRole(b -> b.roleName(name).assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
        iam.attachRolePolicy(b -> b.roleName(name).policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        return arn;
    }

    /** An SDK client signing as {@code c}, without retries. */
    private <B extends AwsSyncClientBuilder<B, C> & AwsClientBuilder<B, C>, C extends AutoCloseable> C client(B builder, Credential c) {
        C client = builder.endpointOverride(w.server.endpoint())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .overrideConfiguration(o -> o.retryStrategy(DefaultRetryStrategy.doNotRetry()))
                .httpClient(UrlConnectionHttpClient.create()).build();
        clients.add(client);
        return client;
    }

    /** A synchronous Invoke signed as {@code c}, sent without a thread of this test waiting for it. */
    private CompletableFuture<HttpResponse<String>> invoke(Credential c, String function, String payload) {
        URI uri = w.server.endpoint().resolve("/2015-03-31/functions/" + function + "/invocations");
        byte[] body = payload.getBytes(StandardCharsets.UTF_8);
        Map<String, String> headers = SigV4Signer.sign("POST", uri.getRawPath(), null, Map.of("host", uri.getHost() + ":" + uri.getPort()),
                body, c, "us-east-1", "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(180)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
