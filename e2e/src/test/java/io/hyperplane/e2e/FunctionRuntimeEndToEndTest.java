package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.bench.JavaProbe;
import io.hyperplane.bench.RuntimeBench;
import io.hyperplane.cli.Main;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.lambda.EventStore;
import io.hyperplane.control.lambda.InvocationService;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.worker.WorkerSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.lambda.model.InvocationType;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.LambdaException;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Issue 5 for real: functions run in execution environments on a worker, reach a database
 * instance in their VPC through the shared ENI, and scale; errors, timeouts and init failures are
 * reported as AWS reports them; function code cannot leave its network; a killed worker leaves
 * nothing behind once it restarts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(600)
class FunctionRuntimeEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PYTHON_APP = """
            import json, os, socket, subprocess, time, urllib.request, shutil
            from concurrent.futures import ThreadPoolExecutor

            def connection(target):
                try:
                    socket.create_connection(target, timeout=2).close()
                    return "connected"
                except Exception as e:
                    return type(e).__name__

            def handler(event, context):
                action = event.get("action", "whoami")
                if action == "whoami":
                    with urllib.request.urlopen("http://" + event["target"] + "/whoami", timeout=5) as r:
                        seen = r.read().decode()
                    time.sleep(event.get("hold", 0))
                    return {"seen": seen, "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "uid": os.getuid(),
                            "requestId": context.aws_request_id, "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]}
                if action == "fail":
                    raise ValueError("asked to fail")
                if action == "sleep":
                    time.sleep(event["seconds"])
                    return "slept"
                if action == "escape":
                    ip = shutil.which("ip") or "/usr/sbin/ip"
                    out = {"linkDown": subprocess.run([ip, "link", "set", "eth0", "down"], capture_output=True).returncode,
                           "addrAdd": subprocess.run([ip, "addr", "add", "100.64.9.9/32", "dev", "eth0"], capture_output=True).returncode}
                    out["uid"] = os.getuid()
                    out["cgroupsVisible"] = os.path.exists("/sys/fs/cgroup/cpu") or os.path.exists("/sys/fs/cgroup/cgroup.procs")
                    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    probe.connect((event["probes"]["db"][0], 9))
                    own = probe.getsockname()[0]
                    probe.close()
                    out["ownAddress"] = own
                    targets = {}
                    for name, (host, port) in event["probes"].items():
                        if isinstance(host, list):  # candidates: the first that is not this environment
                            host = next(h for h in host if h != own)
                            out[name + "Address"] = host
                        targets[name] = (host, port)
                    # At once: each dropped probe waits out its timeout.
                    with ThreadPoolExecutor(max_workers=len(targets)) as probes:
                        running = {name: probes.submit(connection, target) for name, target in targets.items()}
                        for name, result in running.items():
                            out[name] = result.result()
                    return out
                return "unknown action"
            """;
    static final String PROVIDED_BOOTSTRAP = """
            #!/usr/bin/env python3
            import json, os, urllib.request
            api = os.environ["AWS_LAMBDA_RUNTIME_API"]
            while True:
                with urllib.request.urlopen("http://" + api + "/2018-06-01/runtime/invocation/next") as r:
                    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                    event = json.loads(r.read())
                print("provided bootstrap handling", rid, flush=True)
                with urllib.request.urlopen("http://" + event["target"] + "/whoami", timeout=5) as r:
                    body = json.dumps({"seen": r.read().decode()}).encode()
                urllib.request.urlopen(urllib.request.Request("http://" + api + "/2018-06-01/runtime/invocation/" + rid + "/response",
                                                              data=body, method="POST")).read()
            """;
    private RuntimeWorld w;
    private String eniIp;

    @BeforeAll
    void start() throws Exception {
        // Event retries a minute apart in Lambda come 60 ms apart here.
        w = new RuntimeWorld("hp-rt-", "rt", "shared", s -> s.withInvocations(InvocationService.Settings.DEFAULTS.withEventDelayScale(0.001)));
        w.buildVpc("10.5.0.0/16", "10.5.1.0/24", "10.5.2.0/24");
        w.createFunction("py", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", PYTHON_APP)), List.of(w.subnetA), 10, 128);
        eniIp = w.ec2.describeNetworkInterfaces().networkInterfaces().getFirst().privateIpAddress();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
            InvokeResponse r = w.invoke("py", whoami());
            System.out.println("first invocation: " + r.payload().asUtf8String() + "\n" + RuntimeWorld.log(r));
            return JSON.readTree(r.payload().asUtf8String()).path("seen").asText().startsWith(eniIp);
        });
    }

    @AfterAll
    void stop() {
        if (w != null) {
            w.close();
        }
        assertThat(Namespaces.list()).as("no namespace of this test is left").noneMatch(n -> n.startsWith("hp-rt-") || n.startsWith("hp-ee-rt-"));
    }

    private String whoami() {
        return "{\"action\":\"whoami\",\"target\":\"" + w.target() + "\"}";
    }

    private JsonNode payload(InvokeResponse r) throws Exception {
        return JSON.readTree(r.payload().asUtf8String());
    }

    @Test
    @Order(1)
    void shouldRunAPythonFunctionAsAnUnprivilegedUserThroughTheSharedEni() throws Exception {
        InvokeResponse r = w.invoke("py", whoami());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.functionError()).isNull();
        assertThat(r.executedVersion()).isEqualTo("$LATEST");
        JsonNode body = payload(r);
        assertThat(body.path("seen").asText()).as("the database sees the ENI's address").startsWith(eniIp + ":");
        assertThat(body.path("uid").asInt()).as("not root").isGreaterThanOrEqualTo(WorkerSettings.DEFAULT_FIRST_UID);
        assertThat(body.path("function").asText()).isEqualTo("py");
        assertThat(body.path("memory").asText()).isEqualTo("128");
        String log = RuntimeWorld.log(r);
        System.out.println("a warm python invocation's log:\n" + log);
        assertThat(log).contains("START RequestId: ").contains("END RequestId: ").contains("REPORT RequestId: ")
                .contains("Duration: ").contains("Billed Duration: ").contains("Memory Size: 128 MB").contains("Max Memory Used: ");
    }

    @Test
    @Order(2)
    void shouldRunTheOfficialJavaRuntimeClientAndAProvidedBootstrap() throws Exception {
        w.createFunction("java", "java21", "Probe::handleRequest", JavaProbe.zip(), List.of(w.subnetA), 30, 512);
        InvokeResponse cold = w.invoke("java", "{\"target\":\"" + w.target() + "\"}");
        assertThat(cold.functionError()).as(cold.payload().asUtf8String()).isNull();
        assertThat(JSON.readTree(cold.payload().asUtf8String()).asText()).as("the Java handler saw the ENI").startsWith(eniIp + ":");
        String log = RuntimeWorld.log(cold);
        System.out.println(log);
        assertThat(log).contains("Init Duration: ").contains("Network Attach: ").contains("Process Start: ").contains("Runtime Init: ")
                .containsPattern("Sandbox: [0-9]+\\.[0-9]{2} ms").doesNotContain("hyperplane-sandbox-ready").contains("java handler saw");
        System.out.println("worker metrics: " + workerMetrics());
        InvokeResponse warm = w.invoke("java", "{\"target\":\"" + w.target() + "\"}");
        assertThat(RuntimeWorld.log(warm)).as("a warm invoke has no init").doesNotContain("Init Duration");

        byte[] provided = providedZip();
        w.createFunction("provided", "provided.al2023", "bootstrap", provided, List.of(w.subnetA), 10, 128);
        InvokeResponse p = w.invoke("provided", whoami());
        assertThat(p.functionError()).as(p.payload().asUtf8String()).isNull();
        assertThat(payload(p).path("seen").asText()).startsWith(eniIp + ":");
        assertThat(RuntimeWorld.log(p)).contains("provided bootstrap handling");
    }

    @Test
    @Order(3)
    void shouldReportFunctionErrorsTimeoutsAndInitFailuresAsLambdaDoes() throws Exception {
        InvokeResponse failed = w.invoke("py", "{\"action\":\"fail\"}");
        assertThat(failed.statusCode()).isEqualTo(200);
        assertThat(failed.functionError()).isEqualTo("Unhandled");
        assertThat(payload(failed).path("errorType").asText()).isEqualTo("ValueError");
        assertThat(payload(failed).path("errorMessage").asText()).isEqualTo("asked to fail");

        w.createFunction("slow", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", PYTHON_APP)), List.of(w.subnetA), 2, 128);
        InvokeResponse timedOut = w.invoke("slow", "{\"action\":\"sleep\",\"seconds\":6}");
        assertThat(timedOut.functionError()).isEqualTo("Unhandled");
        assertThat(payload(timedOut).path("errorMessage").asText()).contains("Task timed out after 2.00 seconds");
        assertThat(RuntimeWorld.log(timedOut)).contains("Task timed out after 2.00 seconds");
        assertThat(w.invoke("slow", "{\"action\":\"sleep\",\"seconds\":0}").payload().asUtf8String()).as("a fresh environment after the timeout")
                .isEqualTo("\"slept\"");

        w.createFunction("broken", "python3.12", "missing.handler", RuntimeWorld.zip(Map.of("app.py", PYTHON_APP)), List.of(w.subnetA), 10, 128);
        InvokeResponse importError = w.invoke("broken", "{}");
        assertThat(importError.functionError()).isEqualTo("Unhandled");
        assertThat(payload(importError).path("errorType").asText()).isEqualTo("Runtime.ImportModuleError");

        w.createFunction("crash", "provided.al2023", "bootstrap", RuntimeWorld.zip(Map.of("bootstrap", "#!/bin/sh\necho dying\nexit 3\n")),
                List.of(w.subnetA), 10, 128);
        InvokeResponse crash = w.invoke("crash", "{}");
        assertThat(crash.functionError()).isEqualTo("Unhandled");
        assertThat(payload(crash).path("errorType").asText()).isEqualTo("Runtime.ExitError");
        assertThat(payload(crash).path("errorMessage").asText()).contains("exit status 3");
    }

    @Test
    @Order(4)
    void shouldScaleTo50EnvironmentsOnOneEniAndThrottleBeyondReservedConcurrency() throws Exception {
        w.createFunction("burst", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", PYTHON_APP)), List.of(w.subnetA), 60, 128);
        String hold = "{\"action\":\"whoami\",\"target\":\"" + w.target() + "\",\"hold\":3}";
        ExecutorService pool = Executors.newFixedThreadPool(50);
        try {
            List<CompletableFuture<InvokeResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                calls.add(CompletableFuture.supplyAsync(() -> w.invoke("burst", hold), pool));
            }
            List<String> ids = new ArrayList<>();
            for (CompletableFuture<InvokeResponse> call : calls) {
                InvokeResponse r = call.join();
                assertThat(r.functionError()).as(r.payload().asUtf8String()).isNull();
                assertThat(payload(r).path("seen").asText()).startsWith(eniIp + ":");
                ids.add(payload(r).path("requestId").asText());
            }
            assertThat(ids).doesNotHaveDuplicates();
        } finally {
            pool.shutdownNow();
        }
        JsonNode metrics = workerMetrics();
        assertThat(metrics.path("environments").asInt()).as("50 concurrent invocations, 50 environments").isGreaterThanOrEqualTo(50);
        assertThat(metrics.path("bindsAnswered").path("overControlStream").asInt()).as("cold starts bind over the control stream")
                .isGreaterThanOrEqualTo(50);
        assertThat(metrics.path("bindsAnswered").path("overHttp").asInt()).as("none fell back to HTTP").isZero();
        assertThat(w.ec2.describeNetworkInterfaces(b -> b.filters(f -> f.name("subnet-id").values(w.subnetA))).networkInterfaces())
                .as("one ENI, one address for all of them").hasSize(1);
        System.out.println("worker metrics after the burst: " + metrics);

        w.lambda.putFunctionConcurrency(b -> b.functionName("py").reservedConcurrentExecutions(1));
        try {
            CompletableFuture<InvokeResponse> holding = CompletableFuture.supplyAsync(() -> w.invoke("py", "{\"action\":\"sleep\",\"seconds\":4}"));
            Thread.sleep(1500); // the first invocation holds the one reserved slot
            LambdaException throttled = catchThrowableOfType(LambdaException.class, () -> w.invoke("py", "{\"action\":\"sleep\",\"seconds\":0}"));
            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(throttled.awsErrorDetails().errorCode()).isEqualTo("TooManyRequestsException");
            assertThat(holding.join().functionError()).isNull();
        } finally {
            w.lambda.deleteFunctionConcurrency(b -> b.functionName("py"));
        }
    }

    /** A /28 has 11 usable addresses: the shared model needs one of them however many environments run. */
    @Test
    @Order(5)
    void shouldScaleTo50EnvironmentsInASlash28() throws Exception {
        String small = w.ec2.createSubnet(b -> b.vpcId(w.vpc).cidrBlock("10.5.3.0/28")).subnet().subnetId();
        w.createFunction("small", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", PYTHON_APP)), List.of(small), 60, 128);
        String hold = "{\"action\":\"whoami\",\"target\":\"" + w.target() + "\",\"hold\":3}";
        int before = workerMetrics().path("coldStarts").asInt();
        for (CompletableFuture<InvokeResponse> call : w.burst("small", hold, 50)) {
            InvokeResponse r = call.join();
            assertThat(r.functionError()).as(() -> r.payload().asUtf8String() + w.nodeCounters()).isNull();
            assertThat(payload(r).path("seen").asText()).startsWith("10.5.3.4:");
        }
        assertThat(workerMetrics().path("coldStarts").asInt() - before).isEqualTo(50);
        assertThat(w.ec2.describeNetworkInterfaces(b -> b.filters(f -> f.name("subnet-id").values(small))).networkInterfaces()).hasSize(1);
    }

    @Test
    @Order(6)
    void shouldKeepFunctionCodeInsideItsOwnNetwork() throws Exception {
        String other = w.ec2.createVpc(b -> b.cidrBlock("10.6.0.0/16")).vpc().vpcId();
        String otherSubnet = w.ec2.createSubnet(b -> b.vpcId(other).cidrBlock("10.6.1.0/24")).subnet().subnetId();
        String open = w.ec2.createSecurityGroup(b -> b.vpcId(other).groupName("open").description("open")).groupId();
        w.ec2.authorizeSecurityGroupIngress(b -> b.groupId(open).ipPermissions(p -> p.ipProtocol("-1").ipRanges(r -> r.cidrIp("0.0.0.0/0"))));
        String userData = "#!/bin/sh\nexec " + ProcessHandle.current().info().command().orElseThrow() + " -Xmx64m -cp "
                + System.getProperty("java.class.path") + " " + ServiceHostMain.class.getName() + " --http 8080\n";
        var foreign = w.ec2.runInstances(b -> b.imageId("ami-x").minCount(1).maxCount(1).subnetId(otherSubnet).securityGroupIds(open)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        await().atMost(Duration.ofSeconds(60)).until(() -> w.ec2.describeInstances(b -> b.instanceIds(foreign.instanceId())).reservations()
                .getFirst().instances().getFirst().state().nameAsString().equals("running"));
        int workerPort = w.server.workers().live().getFirst().url().getPort();
        String event = JSON.createObjectNode().put("action", "escape").set("probes", JSON.createObjectNode()
                .set("otherVpc", JSON.createArrayNode().add(foreign.privateIpAddress()).add(8080))).toString();
        ObjectMapperHelper probes = new ObjectMapperHelper(event);
        probes.add("db", w.db.privateIpAddress(), 8080);
        probes.add("workerManagement", "127.0.0.1", workerPort);
        probes.add("node", LocalCloud.NODE_IP, 4789);
        probes.add("workerHost", LocalCloud.WORKER_IP, 22);
        probes.addCandidates("otherEnvironment", List.of("100.64.0.17", "100.64.0.18"), 9001);
        JsonNode out = payload(w.invoke("py", probes.toString()));
        System.out.println("escape attempts: " + out);
        assertThat(out.path("linkDown").asInt()).as("cannot take its tunnel down").isNotZero();
        assertThat(out.path("addrAdd").asInt()).as("cannot change its address").isNotZero();
        List<Long> pids = hostPidsOf(out.path("uid").asInt()); // its own PID namespace shows it other numbers
        assertThat(pids).as("the function's processes, seen from the host").isNotEmpty();
        for (long pid : pids) {
            assertThat(cpuIdle(pid)).as("after init its CPU group is idle: below the system's threads").isEqualTo("1");
        }
        assertThat(out.path("cgroupsVisible").asBoolean()).as("it cannot see (or leave) its cgroups").isFalse();
        assertThat(out.path("db").asText()).as("its own VPC, through the ENI").isEqualTo("connected");
        assertThat(out.path("otherVpc").asText()).as("another VPC").isNotEqualTo("connected");
        assertThat(out.path("workerManagement").asText()).as("the worker's port").isNotEqualTo("connected");
        assertThat(out.path("node").asText()).as("the node").isNotEqualTo("connected");
        assertThat(out.path("workerHost").asText()).as("the worker host").isNotEqualTo("connected");
        assertThat(out.path("otherEnvironmentAddress").asText()).as("a probe of another environment, not itself").isNotEqualTo(out.path("ownAddress").asText());
        assertThat(out.path("otherEnvironment").asText()).as("another environment (burst environments are alive)").isEqualTo("TimeoutError");
    }

    /** The host's processes running as {@code uid}. */
    private static List<Long> hostPidsOf(int uid) throws Exception {
        List<Long> pids = new ArrayList<>();
        try (var entries = Files.list(Path.of("/proc"))) {
            for (Path dir : entries.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    for (String line : Files.readAllLines(dir.resolve("status"))) {
                        if (line.startsWith("Uid:") && line.split("\\s+")[1].equals(Integer.toString(uid))) {
                            pids.add(Long.parseLong(dir.getFileName().toString()));
                        }
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        }
        return pids;
    }

    /** cpu.idle of the CPU cgroup process {@code pid} is in (cgroup v1 or v2). */
    private static String cpuIdle(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
            String[] parts = line.split(":", 3);
            Path dir = null;
            if (Arrays.asList(parts[1].split(",")).contains("cpu")) {
                dir = Path.of("/sys/fs/cgroup/cpu" + parts[2]);
            } else if (parts[0].equals("0") && parts[1].isEmpty() && !Files.isDirectory(Path.of("/sys/fs/cgroup/cpu"))) {
                dir = Path.of("/sys/fs/cgroup" + parts[2]).getParent(); // v2: the worker's cgroup of environments
            }
            if (dir != null) {
                return Files.readString(dir.resolve("cpu.idle")).trim();
            }
        }
        return "no cpu cgroup";
    }

    /** Builds the escape event's probe map. */
    private static final class ObjectMapperHelper {
        private final ObjectNode root;

        ObjectMapperHelper(String json) throws Exception {
            root = (ObjectNode) JSON.readTree(json);
        }

        void addCandidates(String name, List<String> hosts, int port) {
            ArrayNode candidates = JSON.createArrayNode();
            hosts.forEach(candidates::add);
            ((ObjectNode) root.get("probes")).set(name, JSON.createArrayNode().add(candidates).add(port));
        }

        void add(String name, String host, int port) {
            ((ObjectNode) root.get("probes")).set(name, JSON.createArrayNode().add(host).add(port));
        }

        @Override
        public String toString() {
            return root.toString();
        }
    }

    /** A destination: succeeds only for the invocation record of py's event that failed, so its count shows the record arrived whole. */
    static final String SINK_APP = """
            def handler(event, context):
                context_ = event["requestContext"]
                if (event["version"] != "1.0" or context_["condition"] != "RetriesExhausted" or context_["approximateInvokeCount"] != 2
                        or not context_["functionArn"].endswith(":function:py:$LATEST") or event["requestPayload"] != {"action": "fail"}
                        or event["responseContext"]["functionError"] != "Unhandled"
                        or event["responsePayload"]["errorMessage"] != "asked to fail"):
                    raise ValueError("not the record expected: " + repr(event))
                return "recorded"
            """;

    @Test
    @Order(7)
    void shouldQueueEventInvocationsRetryThemPerMaximumRetryAttemptsSendFailuresToOnFailureAndAnswerDryRuns() throws Exception {
        InvokeResponse dry = w.lambda.invoke(b -> b.functionName("py").invocationType(InvocationType.DRY_RUN));
        assertThat(dry.statusCode()).isEqualTo(204);
        w.createFunction("sink", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", SINK_APP)), List.of(w.subnetA), 10, 128);
        String account = w.server.defaultCredential().accountId();
        eventInvokeConfig("py", 1, "arn:aws:lambda:us-east-1:" + account + ":function:sink");
        eventInvokeConfig("sink", 0, null);

        InvokeResponse ok = w.lambda.invoke(b -> b.functionName("py").invocationType(InvocationType.EVENT).payload(SdkBytes.fromUtf8String(whoami())));
        assertThat(ok.statusCode()).isEqualTo(202);
        InvokeResponse bad = w.lambda.invoke(b -> b.functionName("py").invocationType(InvocationType.EVENT)
                .payload(SdkBytes.fromUtf8String("{\"action\":\"fail\"}")));
        assertThat(bad.statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).until(() -> events(account, "py").succeeded() == 1 && events(account, "py").dead() == 1
                && events(account, "sink").succeeded() + events(account, "sink").dead() == 1);
        assertThat(events(account, "py")).as("the failing event: tried once, retried once (MaximumRetryAttempts 1), then dead")
                .isEqualTo(new EventStore.Counts("py", 0, 0, 1, 1, 1, 0));
        assertThat(events(account, "sink")).as("OnFailure got the invocation record").isEqualTo(new EventStore.Counts("sink", 0, 0, 1, 0, 0, 0));
        StringWriter table = new StringWriter();
        assertThat(new CommandLine(new Main()).setOut(new PrintWriter(table, true)).execute("events", "--endpoint", w.server.endpoint().toString(),
                "--credentials", w.server.credentialsFile().toString())).isZero();
        assertThat(table.toString().lines().filter(l -> l.startsWith("py ")).findFirst().orElseThrow().split("\\s+"))
                .as("hyperplane events: queued, in flight, succeeded, retried, dead, redelivered").containsExactly("py", "0", "0", "1", "1", "1", "0");
    }

    private EventStore.Counts events(String account, String function) {
        return w.server.invocations().eventCounts(account).stream().filter(f -> f.function().equals(function)).findFirst()
                .orElse(new EventStore.Counts(function, 0, 0, 0, 0, 0, 0));
    }

    /** The function's event invoke configuration for $LATEST, through PutFunctionEventInvokeConfig. */
    private void eventInvokeConfig(String function, int retries, String onFailure) {
        w.lambda.putFunctionEventInvokeConfig(b -> {
            b.functionName(function).maximumRetryAttempts(retries);
            if (onFailure != null) {
                b.destinationConfig(d -> d.onFailure(f -> f.destination(onFailure)));
            }
        });
    }

    @Test
    @Order(8)
    void shouldLeaveNothingBehindWhenTheWorkerIsKilled() throws Exception {
        Set<String> before = new HashSet<>(Namespaces.list());
        before.removeIf(n -> !n.startsWith("hp-ee-rt-"));
        assertThat(before).isNotEmpty();
        w.cloud.killWorker();
        assertThat(Namespaces.list()).as("the killed worker's environments are still there").containsAll(before);
        w.cloud.startWorker("shared");
        assertThat(Namespaces.list()).as("the restarted worker removed what the killed one left (it prepares new ones)")
                .doesNotContainAnyElementsOf(before);
        Process ps = new ProcessBuilder("ps", "-eo", "uid=").start();
        String uids = new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(Arrays.stream(uids.split("\\s+")).filter(s -> !s.isBlank()).mapToLong(Long::parseLong).filter(u -> u >= WorkerSettings.DEFAULT_FIRST_UID && u < WorkerSettings.DEFAULT_FIRST_UID + 100_000L).count())
                .as("no function process is left").isZero();
        assertThat(payload(w.invoke("py", whoami())).path("seen").asText()).startsWith(eniIp + ":");
    }

    private JsonNode workerMetrics() throws Exception {
        return w.workerMetrics();
    }

    private static byte[] providedZip() throws Exception {
        return RuntimeBench.zip(Map.of("bootstrap", PROVIDED_BOOTSTRAP), true);
    }

}
