package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.bench.RuntimeBench;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.Directories;
import io.hyperplane.node.CountersFile;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.CreateFunctionRequest;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.awaitility.Awaitility.await;

/**
 * A local cloud (control plane, fabric, forwarder node, worker) with SDK clients, a VPC with two
 * subnets, and a "database" instance in subnet A whose UserData serves /whoami on 8080 and admits
 * only the functions' security group.
 */
final class RuntimeWorld implements AutoCloseable {
    static final String TRUST = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}""";

    final LocalCloud cloud;
    final ControlPlaneServer server;
    final Ec2Client ec2;
    final IamClient iam;
    final LambdaClient lambda;
    final Path dir;
    String vpc;
    String subnetA;
    String subnetB;
    String fnGroup;
    String dbGroup;
    String role;
    Instance db;

    RuntimeWorld(String prefix, String workerName, String networkModel) throws Exception {
        this(prefix, workerName, networkModel, s -> s);
    }

    RuntimeWorld(String prefix, String workerName, String networkModel,
                 UnaryOperator<ControlPlaneServer.Settings> customize) throws Exception {
        this(prefix, workerName, networkModel, customize, Duration.ofSeconds(300));
    }

    RuntimeWorld(String prefix, String workerName, String networkModel,
                 UnaryOperator<ControlPlaneServer.Settings> customize, Duration workerIdleTimeout) throws Exception {
        this(prefix, workerName, networkModel, customize, workerIdleTimeout, List.of());
    }

    /** As above, with options of the caller's for the forwarder node (limits and timeouts scaled down). */
    RuntimeWorld(String prefix, String workerName, String networkModel,
                 UnaryOperator<ControlPlaneServer.Settings> customize, Duration workerIdleTimeout, List<String> nodeOptions) throws Exception {
        this(prefix, workerName, networkModel, customize, workerIdleTimeout, nodeOptions, 1);
    }

    /** As above, with {@code nodes} forwarder nodes. */
    RuntimeWorld(String prefix, String workerName, String networkModel, UnaryOperator<ControlPlaneServer.Settings> customize,
                 Duration workerIdleTimeout, List<String> nodeOptions, int nodes) throws Exception {
        dir = Files.createTempDirectory("hp-runtime-e2e");
        ControlPlaneServer.Settings settings = customize.apply(new ControlPlaneServer.Settings(dir.resolve("data"), "127.0.0.1", 0, null, null, null)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ofSeconds(1))));
        cloud = LocalCloud.start(new LocalCloud.Settings(settings, prefix, workerName, networkModel, workerIdleTimeout, 64).withNodes(nodes), nodeOptions,
                line -> System.out.println("  " + line), () -> false);
        server = cloud.server();
        StaticCredentialsProvider credentials = AwsClients.credentials(server.defaultCredential());
        ec2 = AwsClients.ec2(server.endpoint(), credentials);
        iam = AwsClients.iam(server.endpoint(), credentials);
        lambda = AwsClients.patientLambda(server.endpoint(), credentials, Duration.ofSeconds(120));
    }

    /** The VPC, groups, role and the database instance (waits until it answers is the caller's). */
    void buildVpc(String cidr, String subnetACidr, String subnetBCidr) {
        vpc = ec2.createVpc(b -> b.cidrBlock(cidr)).vpc().vpcId();
        subnetA = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock(subnetACidr)).subnet().subnetId();
        subnetB = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock(subnetBCidr)).subnet().subnetId();
        fnGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("functions").description("functions")).groupId();
        dbGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("db").description("db")).groupId();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(dbGroup).ipPermissions(p -> p.ipProtocol("tcp").fromPort(8080).toPort(8080)
                .userIdGroupPairs(g -> g.groupId(fnGroup))));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nexec " + java + " -Xmx96m -cp " + System.getProperty("java.class.path") + " "
                + ServiceHostMain.class.getName() + " --http 8080\n";
        db = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnetA).securityGroupIds(dbGroup)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        role = iam.createRole(b -> b.roleName("fn-role").assumeRolePolicyDocument(TRUST)).role().arn();
        iam.attachRolePolicy(b -> b.roleName("fn-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        await().atMost(Duration.ofSeconds(60)).until(() -> ec2.describeInstances(b -> b.instanceIds(db.instanceId())).reservations().getFirst()
                .instances().getFirst().state().nameAsString().equals("running"));
    }

    String target() {
        return db.privateIpAddress() + ":8080";
    }

    void createFunction(String name, String runtime, String handler, byte[] zip, List<String> subnets, int timeout, int memory) {
        createFunction(name, runtime, handler, zip, subnets, timeout, memory, b -> { });
    }

    /** As above, with more settings (environment variables, EphemeralStorage...) of the caller's. */
    void createFunction(String name, String runtime, String handler, byte[] zip, List<String> subnets, int timeout, int memory,
                        Consumer<CreateFunctionRequest.Builder> more) {
        lambda.createFunction(b -> more.accept(b.functionName(name).role(role).runtime(runtime).handler(handler).timeout(timeout).memorySize(memory)
                .code(c -> c.zipFile(SdkBytes.fromByteArray(zip))).vpcConfig(v -> v.subnetIds(subnets).securityGroupIds(fnGroup))));
        lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName(name), AwsClients.promptly());
    }

    /** {@code count} concurrent invocations; returns them in order (each completes or throws). */
    List<CompletableFuture<InvokeResponse>> burst(String name, String payload, int count) {
        ExecutorService pool = Executors.newFixedThreadPool(count);
        try {
            List<CompletableFuture<InvokeResponse>> calls = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                calls.add(CompletableFuture.supplyAsync(() -> invoke(name, payload), pool));
            }
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
                    .exceptionally(e -> null).join();
            return calls;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The worker's /metrics. */
    JsonNode workerMetrics() throws Exception {
        return RuntimeBench.workerMetrics(cloud);
    }

    InvokeResponse invoke(String name, String payload) {
        return lambda.invoke(b -> b.functionName(name).logType("Tail").payload(SdkBytes.fromUtf8String(payload)));
    }

    static String log(InvokeResponse r) {
        return r.logResult() == null ? "" : new String(Base64.getDecoder().decode(r.logResult()), StandardCharsets.UTF_8);
    }

    /** Each node's counters that are not zero, in all and per thread: what a failed invocation's message says of the data plane. */
    String nodeCounters() {
        StringBuilder out = new StringBuilder();
        for (LocalCloud.Node node : cloud.nodes()) {
            try {
                CountersFile.Snapshot s = CountersFile.read(node.stateDir().resolve("counters"));
                out.append("\nnode ").append(node.name()).append(": ").append(nonZero(s.counters()));
                List<String> malformed = nonZero(s.malformations());
                if (!malformed.isEmpty()) {
                    out.append("\n  malformed, by kind: ").append(malformed);
                }
                for (int t = 0; t < s.threads().size(); t++) {
                    out.append("\n  thread ").append(t).append(": ").append(nonZero(s.threads().get(t)));
                }
            } catch (IOException e) {
                out.append("\nnode ").append(node.name()).append(": ").append(e.getMessage());
            }
        }
        return out.toString();
    }

    /** One malformation's count ({@code label}, as the counters file names it) summed over the nodes running now. */
    long nodesMalformed(String label) throws IOException {
        long sum = 0;
        for (LocalCloud.Node node : cloud.nodes()) {
            sum += CountersFile.read(node.stateDir().resolve("counters")).malformations().getOrDefault(label, 0L);
        }
        return sum;
    }

    private static List<String> nonZero(Map<String, Long> counters) {
        return counters.entrySet().stream().filter(e -> e.getValue() != 0).map(e -> e.getKey() + "=" + e.getValue()).toList();
    }

    static byte[] zip(Map<String, String> files) {
        try {
            return RuntimeBench.zip(files, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {lambda, iam, ec2}) {
            try {
                c.close();
            } catch (Exception e) {
                System.out.println("closing: " + e.getMessage());
            }
        }
        try {
            cloud.close();
        } finally {
            try {
                Directories.deleteTree(dir); // the store, logs and state of this run
            } catch (IOException e) {
                System.out.println("removing " + dir + ": " + e.getMessage());
            }
        }
    }
}
