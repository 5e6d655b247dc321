package io.hyperplane.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.client.LambdaHttpClient;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.lambda.LegacyEnis;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.Directories;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.metrics.LatencyRecorder;
import io.hyperplane.sigv4.Credential;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * {@code hyperplane bench runtime}: the function runtime measured in the shared-ENI model and in
 * the legacy one, in the same run on the same machine: network attach, full cold starts per
 * runtime, warm invoke latency, invokes per second at several concurrencies, and a burst of 50.
 */
public final class RuntimeBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Launches of each kind in the sandbox's like-for-like measurement. */
    private static final int SANDBOX_ROUNDS = 100;
    /** How often the subnet's interfaces are counted during a load: often enough to see a short-lived legacy ENI. */
    private static final long SAMPLE_EVERY_MILLIS = 100;
    /**
     * Functions created one after another to time Pending → Active, each with a security group of
     * its own so that each waits for a new ENI: made, published, acknowledged by the node.
     */
    private static final int PENDING_TO_ACTIVE_FUNCTIONS = 20;
    /** The second subnet those functions' ENIs go in, so the runtime's own subnet counts only the runtime's. */
    private static final String PENDING_TO_ACTIVE_CIDR = "10.8.16.0/20";
    /** The pair whose cold starts are compared: the same python code, without a VpcConfig and in the world's VPC. */
    private static final String WITHOUT_VPC = "bench-python-no-vpc";
    private static final String WITH_VPC = "bench-python-vpc";
    private static final Pattern PHASE = Pattern.compile("(Init Duration|Network Attach|Process Start|Sandbox|Runtime Init): ([0-9.]+) ms");
    static final String PYTHON = """
            import os, time, urllib.request
            def handler(event, context):
                with urllib.request.urlopen("http://" + event["target"] + "/whoami", timeout=10) as r:
                    seen = r.read().decode()
                time.sleep(event.get("hold", 0))
                return {"seen": seen}
            """;
    static final String PROVIDED = """
            #!/usr/bin/env python3
            import json, os, urllib.request
            api = os.environ["AWS_LAMBDA_RUNTIME_API"]
            while True:
                with urllib.request.urlopen("http://" + api + "/2018-06-01/runtime/invocation/next") as r:
                    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                    event = json.loads(r.read())
                with urllib.request.urlopen("http://" + event["target"] + "/whoami", timeout=10) as r:
                    body = json.dumps({"seen": r.read().decode()}).encode()
                urllib.request.urlopen(urllib.request.Request("http://" + api + "/2018-06-01/runtime/invocation/" + rid + "/response",
                                                              data=body, method="POST")).read()
            """;

    public record Settings(int coldStarts, int legacyColdStarts, int warmInvokes, int seconds, int burst, boolean java, int warmupColdStarts) {
    }

    private final Settings settings;
    private final Consumer<String> progress;
    private final ObjectNode report = JSON.createObjectNode();

    public RuntimeBench(Settings settings, Consumer<String> progress) {
        this.settings = settings;
        this.progress = progress;
    }

    public ObjectNode run() throws Exception {
        Path dir = Files.createTempDirectory("hp-bench-runtime");
        ControlPlaneServer.Settings server = new ControlPlaneServer.Settings(dir.resolve("data"), "127.0.0.1", 0, null, null, null)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ofSeconds(5)));
        try (LocalCloud cloud = LocalCloud.start(new LocalCloud.Settings(server, "hp-bn-", "bn", "shared", Duration.ofSeconds(600),
                Math.max(64, settings.burst() + 8)).withNodes(1), line -> { })) {
            Credential credential = cloud.server().defaultCredential();
            URI endpoint = cloud.server().endpoint();
            Ec2QueryClient ec2 = new Ec2QueryClient(endpoint, credential);
            LambdaHttpClient lambda = new LambdaHttpClient(endpoint, credential);
            World world = buildWorld(ec2, Ec2QueryClient.iam(endpoint, credential), lambda);
            report.set("pendingToActiveMs", pendingToActive(ec2, lambda, world));
            report.put("machine", Runtime.getRuntime().availableProcessors() + " vCPUs");
            report.put("legacyEniCreation", "bucket " + LegacyEnis.Settings.DEFAULTS.bucket() + ", refill " + LegacyEnis.Settings.DEFAULTS.refillPerSecond()
                    + "/s, latency " + LegacyEnis.Settings.DEFAULTS.latency().toMillis() + " ms");
            progress.accept("sandbox: " + SANDBOX_ROUNDS + " launches each of the pre-sandbox chain and the sandboxed one, interleaved");
            report.set("sandboxLaunch", SandboxLaunchBench.run("hp-bn-sandbox", SANDBOX_ROUNDS));
            warmUp(lambda, world, "shared", settings.warmupColdStarts());
            report.set("shared", measure(cloud, lambda, ec2, world, "shared", settings.coldStarts()));
            report.set("withoutVpc", withoutVpcAgainstVpc(lambda, world, settings.coldStarts()));
            progress.accept("restarting the worker with the legacy network model");
            cloud.startWorker("legacy");
            warmUp(lambda, world, "legacy", Math.min(settings.warmupColdStarts(), 2)); // each takes seconds there
            report.set("legacy", measure(cloud, lambda, ec2, world, "legacy", settings.legacyColdStarts()));
        } finally {
            Directories.deleteTree(dir); // the run's store, node and worker state, logs
        }
        return report;
    }

    private record World(String vpc, String subnet, String group, String target, String role) {
    }

    private World buildWorld(Ec2QueryClient ec2, Ec2QueryClient iam, LambdaHttpClient lambda) throws Exception {
        progress.accept("building a VPC with a database instance");
        String vpc = Ec2QueryClient.text(ec2.call("CreateVpc", Map.of("CidrBlock", "10.8.0.0/16")), "vpcId");
        String subnet = Ec2QueryClient.text(ec2.call("CreateSubnet", Map.of("VpcId", vpc, "CidrBlock", "10.8.0.0/20")), "subnetId");
        String fn = Ec2QueryClient.text(ec2.call("CreateSecurityGroup", Map.of("VpcId", vpc, "GroupName", "functions", "GroupDescription", "f")), "groupId");
        String db = Ec2QueryClient.text(ec2.call("CreateSecurityGroup", Map.of("VpcId", vpc, "GroupName", "db", "GroupDescription", "db")), "groupId");
        ec2.call("AuthorizeSecurityGroupIngress", Map.of("GroupId", db, "IpPermissions.1.IpProtocol", "tcp", "IpPermissions.1.FromPort", "8080",
                "IpPermissions.1.ToPort", "8080", "IpPermissions.1.Groups.1.GroupId", fn));
        String userData = "#!/bin/sh\nexec " + String.join(" ", Jvm.command(List.of("-Xmx128m"), ServiceHostMain.class.getName())) + " --http 8080\n";
        var run = ec2.call("RunInstances", Map.of("ImageId", "ami-hyperplane", "MinCount", "1", "MaxCount", "1", "SubnetId", subnet,
                "SecurityGroupId.1", db, "UserData", Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8))));
        String instance = Ec2QueryClient.text(run, "instanceId");
        String ip = Ec2QueryClient.text(run, "privateIpAddress");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Ec2QueryClient.text(ec2.call("DescribeInstances", Map.of("InstanceId.1", instance)), "name").equals("running")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the database instance did not start");
            }
            Thread.sleep(100);
        }
        String trust = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},"
                + "\"Action\":\"sts:AssumeRole\"}]}";
        String role = Ec2QueryClient.text(iam.call("CreateRole", Map.of("RoleName", "bench", "AssumeRolePolicyDocument", trust)), "Arn");
        iam.call("AttachRolePolicy", Map.of("RoleName", "bench", "PolicyArn", "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"));
        World world = new World(vpc, subnet, fn, ip + ":8080", role);
        create(lambda, world, "bench-python", "python3.12", "app.handler", zip(Map.of("app.py", PYTHON), false), 128, true);
        create(lambda, world, "bench-provided", "provided.al2023", "bootstrap", zip(Map.of("bootstrap", PROVIDED), true), 128, true);
        if (settings.java()) {
            create(lambda, world, "bench-java", "java21", "Probe::handleRequest", JavaProbe.zip(), 512, true);
        }
        create(lambda, world, WITHOUT_VPC, "python3.12", "app.handler", zip(Map.of("app.py", PYTHON), false), 128, false);
        create(lambda, world, WITH_VPC, "python3.12", "app.handler", zip(Map.of("app.py", PYTHON), false), 128, true);
        // The database answers (and admits the functions' ENI) before anything is measured.
        for (int i = 0; i < 100 && !lambda.invoke("bench-python", event(world, 0)).ok(); i++) {
            Thread.sleep(500);
        }
        return world;
    }

    /** A function in the world's subnet and group ({@code inVpc}), or without a VpcConfig. */
    private static void create(LambdaHttpClient lambda, World w, String name, String runtime, String handler, byte[] zip, int memory,
                               boolean inVpc) throws Exception {
        ObjectNode request = JSON.createObjectNode().put("FunctionName", name).put("Role", w.role()).put("Runtime", runtime).put("Handler", handler)
                .put("Timeout", 60).put("MemorySize", memory);
        request.putObject("Code").put("ZipFile", Base64.getEncoder().encodeToString(zip));
        if (inVpc) {
            ObjectNode vpc = request.putObject("VpcConfig");
            vpc.putArray("SubnetIds").add(w.subnet());
            vpc.putArray("SecurityGroupIds").add(w.group());
        }
        LambdaHttpClient.Answer created = lambda.call("POST", "/2015-03-31/functions", request.toString());
        if (created.status() != 201) {
            throw new IllegalStateException("CreateFunction " + name + ": " + created.status() + " " + created.body());
        }
        lambda.awaitActive(name, Duration.ofSeconds(60));
    }

    /**
     * Pending → Active as a user sees it: from CreateFunction's answer to the first
     * GetFunctionConfiguration that says Active (issue 15's target: p99 under 300 ms). The
     * functions are deleted after; their ENIs go after the grace period.
     */
    private ObjectNode pendingToActive(Ec2QueryClient ec2, LambdaHttpClient lambda, World w) throws Exception {
        progress.accept("Pending -> Active: " + PENDING_TO_ACTIVE_FUNCTIONS + " functions, each on a new ENI");
        String subnet = Ec2QueryClient.text(ec2.call("CreateSubnet", Map.of("VpcId", w.vpc(), "CidrBlock", PENDING_TO_ACTIVE_CIDR)), "subnetId");
        byte[] code = zip(Map.of("app.py", PYTHON), false);
        LatencyRecorder recorder = new LatencyRecorder();
        for (int i = 0; i < PENDING_TO_ACTIVE_FUNCTIONS; i++) {
            String name = "bench-pending-" + i;
            String group = Ec2QueryClient.text(ec2.call("CreateSecurityGroup", Map.of("VpcId", w.vpc(), "GroupName", name, "GroupDescription", name)),
                    "groupId");
            ObjectNode request = JSON.createObjectNode().put("FunctionName", name).put("Role", w.role()).put("Runtime", "python3.12")
                    .put("Handler", "app.handler");
            request.putObject("Code").put("ZipFile", Base64.getEncoder().encodeToString(code));
            ObjectNode vpc = request.putObject("VpcConfig");
            vpc.putArray("SubnetIds").add(subnet);
            vpc.putArray("SecurityGroupIds").add(group);
            LambdaHttpClient.Answer created = lambda.call("POST", "/2015-03-31/functions", request.toString());
            if (created.status() != 201) {
                throw new IllegalStateException("CreateFunction " + name + ": " + created.status() + " " + created.body());
            }
            long answered = System.nanoTime();
            awaitActive(lambda, name);
            recorder.recordNanos(System.nanoTime() - answered);
        }
        for (int i = 0; i < PENDING_TO_ACTIVE_FUNCTIONS; i++) {
            lambda.call("DELETE", "/2015-03-31/functions/bench-pending-" + i, null);
        }
        return percentiles(recorder);
    }

    /** Asks every 2 ms (a GetFunctionConfiguration takes about a millisecond): the moment it is Active, within that. */
    private static void awaitActive(LambdaHttpClient lambda, String name) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            JsonNode config = JSON.readTree(lambda.call("GET", "/2015-03-31/functions/" + name + "/configuration", null).body());
            String state = config.path("State").asText();
            if (state.equals("Active")) {
                return;
            }
            if (state.equals("Failed") || System.nanoTime() > deadline) {
                throw new IllegalStateException("function " + name + " is " + state + ": " + config.path("StateReason").asText());
            }
            LockSupport.parkNanos(Duration.ofMillis(2).toNanos());
        }
    }

    private static String event(World w, double hold) {
        return event(w.target(), hold);
    }

    private static String event(String target, double hold) {
        return "{\"target\":\"" + target + "\",\"hold\":" + hold + "}";
    }

    /**
     * A function without a VpcConfig against one in a VPC, cold starts of the same python code in the
     * same run, interleaved so that both meet the same machine: each fetches /whoami from where its
     * network leads (the internet host through the service egress; the database instance through its
     * ENI). Both attach the same way (a prepared network bound to an ENI: the service egress's or the
     * function's), so the difference is what each network costs on the way.
     */
    private ObjectNode withoutVpcAgainstVpc(LambdaHttpClient lambda, World w, int coldStarts) throws Exception {
        progress.accept("shared: " + coldStarts + " cold starts each of a function without a VpcConfig and one in a VPC, interleaved");
        Map<String, String> targets = Map.of(WITHOUT_VPC, Internet.HOST + ":80", WITH_VPC, w.target());
        Map<String, List<String>> versions = new HashMap<>();
        for (String fn : targets.keySet()) {
            versions.put(fn, new ArrayList<>());
            for (int i = 0; i < coldStarts; i++) {
                LambdaHttpClient.Answer published = lambda.call("POST", "/2015-03-31/functions/" + fn + "/versions", "{}");
                if (published.status() != 201) {
                    throw new IllegalStateException("PublishVersion " + fn + ": " + published.status() + " " + published.body());
                }
                versions.get(fn).add(JSON.readTree(published.body()).path("Version").asText());
            }
        }
        Thread.sleep(3000); // the publishes' reconciler rounds and full config rebuilds (every 2 s) end
        Map<String, LatencyRecorder> total = Map.of(WITHOUT_VPC, new LatencyRecorder(), WITH_VPC, new LatencyRecorder());
        Map<String, LatencyRecorder> attach = Map.of(WITHOUT_VPC, new LatencyRecorder(), WITH_VPC, new LatencyRecorder());
        for (int i = 0; i < coldStarts; i++) {
            for (String fn : List.of(WITHOUT_VPC, WITH_VPC)) {
                long t0 = System.nanoTime();
                LambdaHttpClient.Answer r = lambda.invoke(fn + ":" + versions.get(fn).get(i), event(targets.get(fn), 0));
                long nanos = System.nanoTime() - t0;
                if (!r.ok()) {
                    throw new IllegalStateException("cold start of " + fn + ": " + r.status() + " " + r.errorType() + " " + r.body());
                }
                total.get(fn).recordNanos(nanos);
                recordIfPresent(attach.get(fn), phases(r.log()).get("Network Attach"));
            }
        }
        ObjectNode out = JSON.createObjectNode();
        for (String fn : List.of(WITHOUT_VPC, WITH_VPC)) {
            ObjectNode f = out.putObject(fn.equals(WITHOUT_VPC) ? "withoutVpc" : "inVpc");
            f.put("target", targets.get(fn));
            f.set("invokeMs", percentiles(total.get(fn)));
            f.set("networkAttachMs", percentiles(attach.get(fn)));
        }
        return out;
    }

    /**
     * The baseline the cold starts' numbers are read against, measured in the same run while they
     * happen: how late a thread of this JVM wakes from a 1 ms sleep. A cold start's network attach
     * is a relay of about ten hand-offs between threads of three processes; on a shared machine
     * each can be as late as this, so its p99 here bounds what the attach's tail can be.
     */
    static final class WakeUpDelay {
        private final LatencyRecorder late = new LatencyRecorder();
        private volatile boolean running = true;
        private final Thread thread = Thread.ofPlatform().name("hp-bench-wakeup").daemon().start(() -> {
            while (running) {
                long t0 = System.nanoTime();
                LockSupport.parkNanos(1_000_000);
                late.recordNanos(Math.max(0, System.nanoTime() - t0 - 1_000_000)); // a park may end early: not late at all
            }
        });

        JsonNode stop() throws InterruptedException {
            running = false;
            thread.join();
            return percentiles(late);
        }
    }

    /**
     * The most subnet addresses Lambda's interfaces held while {@code load} ran (DescribeNetworkInterfaces
     * in the functions' subnet, every 100 ms): one per ENI.
     */
    private static <T> long subnetIpsDuring(Ec2QueryClient ec2, String subnet, Call<T> load) throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        FutureTask<Long> sampler = new FutureTask<>(() -> {
            long most = 0;
            while (!done.get()) {
                try {
                    long n = Ec2QueryClient.items(Ec2QueryClient.child(ec2.call("DescribeNetworkInterfaces",
                            Map.of("Filter.1.Name", "subnet-id", "Filter.1.Value.1", subnet)), "networkInterfaceSet")).size();
                    most = Math.max(most, n);
                } catch (IOException | RuntimeException e) {
                    // a sample missed; the next one counts
                }
                Thread.sleep(SAMPLE_EVERY_MILLIS);
            }
            return most;
        });
        Thread.ofPlatform().name("hp-bench-ips").start(sampler);
        try {
            load.run();
        } finally {
            done.set(true);
        }
        return sampler.get();
    }

    /** Cold starts whose numbers are not kept: the system's JITs warm up on them, as a long-running system's are. */
    private void warmUp(LambdaHttpClient lambda, World w, String model, int coldStarts) throws Exception {
        if (coldStarts > 0) {
            progress.accept(model + ": " + coldStarts + " warm-up cold starts (not counted)");
        }
        for (int i = 0; i < coldStarts; i++) {
            LambdaHttpClient.Answer published = lambda.call("POST", "/2015-03-31/functions/bench-python/versions", "{}");
            String version = JSON.readTree(published.body()).path("Version").asText();
            LambdaHttpClient.Answer r = lambda.invoke("bench-python:" + version, event(w, 0));
            if (!r.ok()) {
                throw new IllegalStateException(model + " warm-up cold start: " + r.status() + " " + r.body());
            }
        }
    }

    private ObjectNode measure(LocalCloud cloud, LambdaHttpClient lambda, Ec2QueryClient ec2, World w, String model, int coldStarts) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        List<String> functions = new ArrayList<>(List.of("bench-python", "bench-provided"));
        if (settings.java()) {
            functions.add("bench-java");
        }
        JsonNode before = workerMetrics(cloud);
        ObjectNode cold = out.putObject("coldStart");
        WakeUpDelay baseline = new WakeUpDelay();
        for (String fn : functions) {
            progress.accept(model + ": " + coldStarts + " cold starts of " + fn);
            LatencyRecorder total = new LatencyRecorder();
            LatencyRecorder attach = new LatencyRecorder();
            LatencyRecorder init = new LatencyRecorder();
            LatencyRecorder sandbox = new LatencyRecorder();
            // A new published version has no environment yet: its first invoke is a cold start. All are
            // published first, so the control plane's work on a publish is not timed as part of one.
            List<String> versions = new ArrayList<>();
            for (int i = 0; i < coldStarts; i++) {
                LambdaHttpClient.Answer published = lambda.call("POST", "/2015-03-31/functions/" + fn + "/versions", "{}");
                if (published.status() != 201) {
                    throw new IllegalStateException("PublishVersion " + fn + ": " + published.status() + " " + published.body());
                }
                versions.add(JSON.readTree(published.body()).path("Version").asText());
            }
            Thread.sleep(3000); // the publishes' reconciler rounds and full config rebuilds (every 2 s) end
            for (String version : versions) {
                long t0 = System.nanoTime();
                LambdaHttpClient.Answer r = lambda.invoke(fn + ":" + version, event(w, 0));
                long nanos = System.nanoTime() - t0;
                if (!r.ok()) {
                    throw new IllegalStateException(model + " cold start of " + fn + ": " + r.status() + " " + r.errorType() + " " + r.body());
                }
                total.recordNanos(nanos);
                Map<String, Double> phases = phases(r.log()); // a phase the REPORT line lacks is not counted
                recordIfPresent(attach, phases.get("Network Attach"));
                recordIfPresent(init, phases.get("Init Duration"));
                recordIfPresent(sandbox, phases.get("Sandbox"));
            }
            ObjectNode f = cold.putObject(fn);
            f.set("invokeMs", percentiles(total));
            f.set("networkAttachMs", percentiles(attach));
            f.set("initDurationMs", percentiles(init));
            f.set("sandboxMs", percentiles(sandbox));
        }
        out.set("baselineWakeUpDelayMs", baseline.stop());
        progress.accept(model + ": " + settings.warmInvokes() + " warm invokes");
        LatencyRecorder warm = new LatencyRecorder();
        for (int i = 0; i < settings.warmInvokes(); i++) {
            long t0 = System.nanoTime();
            LambdaHttpClient.Answer r = lambda.invoke("bench-python", event(w, 0));
            warm.recordNanos(System.nanoTime() - t0);
            if (!r.ok()) {
                throw new IllegalStateException("warm invoke: " + r.body());
            }
        }
        out.set("warmInvokeMs", percentiles(warm));
        progress.accept(model + ": a burst of " + settings.burst() + " concurrent invocations (each holds 2 s)");
        JsonNode beforeBurst = workerMetrics(cloud);
        long b0 = System.nanoTime();
        List<LambdaHttpClient.Answer> burst = concurrently(settings.burst(), () -> lambda.invoke("bench-python", event(w, 2)));
        double burstMs = (System.nanoTime() - b0) / 1e6;
        JsonNode afterBurst = workerMetrics(cloud);
        ObjectNode b = out.putObject("burst");
        b.put("invocations", settings.burst()).put("succeeded", burst.stream().filter(LambdaHttpClient.Answer::ok).count())
                .put("coldStarts", afterBurst.path("coldStarts").asLong() - beforeBurst.path("coldStarts").asLong())
                .put("untilAllAnsweredMs", Math.round(burstMs))
                .put("networkAttachP50Ms", afterBurst.path("networkAttachMs").path("p50").asDouble())
                .put("networkAttachP99Ms", afterBurst.path("networkAttachMs").path("p99").asDouble());
        ObjectNode throughput = out.putObject("invokesPerSecond");
        ObjectNode ips = out.putObject("subnetIpsInUse");
        for (int c : new int[] {1, 10, settings.burst()}) {
            progress.accept(model + ": invokes per second at concurrency " + c);
            AtomicLong count = new AtomicLong();
            long end = System.nanoTime() + Duration.ofSeconds(settings.seconds()).toNanos();
            ips.put("c" + c, subnetIpsDuring(ec2, w.subnet(), () -> concurrently(c, () -> {
                LambdaHttpClient.Answer last = null;
                while (System.nanoTime() < end) {
                    last = lambda.invoke("bench-python", event(w, 0));
                    if (last.ok()) {
                        count.incrementAndGet();
                    }
                }
                return last;
            })));
            throughput.put("c" + c, Math.round(count.get() / (double) settings.seconds()));
        }
        JsonNode after = workerMetrics(cloud);
        ObjectNode worker = out.putObject("worker");
        worker.set("metrics", after);
        worker.put("legacyEnisCreated", after.path("legacyEnisCreated").asLong() - before.path("legacyEnisCreated").asLong());
        worker.put("legacyEniCreationsThrottled", after.path("legacyEniCreationsThrottled").asLong());
        return out;
    }

    private interface Call<T> {
        T run() throws Exception;
    }

    private static <T> List<T> concurrently(int n, Call<T> call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<CompletableFuture<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return call.run();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, pool));
            }
            List<T> out = new ArrayList<>();
            for (CompletableFuture<T> f : futures) {
                out.add(f.join());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The (main) worker's GET /metrics. */
    public static JsonNode workerMetrics(LocalCloud cloud) throws Exception {
        URI url = cloud.server().workers().live().getFirst().url();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(url.resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    static Map<String, Double> phases(String log) {
        Map<String, Double> out = new HashMap<>();
        Matcher m = PHASE.matcher(log);
        while (m.find()) {
            out.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return out;
    }

    private static void recordIfPresent(LatencyRecorder recorder, Double millis) {
        if (millis != null) {
            recorder.recordMillis(millis);
        }
    }

    /** A recorder as this report shows it: {"n", "p50", "p99"}, milliseconds to two decimals; no percentiles when empty. */
    public static ObjectNode percentiles(LatencyRecorder recorder) {
        LatencyRecorder.Summary s = recorder.summary();
        ObjectNode o = JSON.createObjectNode().put("n", s.count());
        if (s.count() > 0) {
            o.put("p50", s.p50Millis());
            o.put("p99", s.p99Millis());
        }
        return o;
    }

    /** A zip of the files; with {@code executable}, every file is mode 755 (a provided bootstrap). */
    public static byte[] zip(Map<String, String> files, boolean executable) throws IOException {
        if (!executable) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
                for (Map.Entry<String, String> f : files.entrySet()) {
                    zip.putNextEntry(new ZipEntry(f.getKey()));
                    zip.write(f.getValue().getBytes(StandardCharsets.UTF_8));
                    zip.closeEntry();
                }
            }
            return bytes.toByteArray();
        }
        Path dir = Files.createTempDirectory("hp-zip");
        Path file = dir.resolve("code.zip");
        try (var fs = FileSystems.newFileSystem(URI.create("jar:" + file.toUri()), Map.of("create", "true", "enablePosixFileAttributes", "true"))) {
            for (Map.Entry<String, String> f : files.entrySet()) {
                Path target = fs.getPath("/" + f.getKey());
                Files.writeString(target, f.getValue());
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        byte[] bytes = Files.readAllBytes(file);
        Files.delete(file);
        Files.delete(dir);
        return bytes;
    }

    /** The table printed after the run: shared and legacy side by side. */
    public static String table(JsonNode r) {
        StringBuilder s = new StringBuilder("| metric | shared | legacy | legacy/shared |\n|---|---:|---:|---:|\n");
        JsonNode sh = r.path("shared");
        JsonNode lg = r.path("legacy");
        for (var it = sh.path("coldStart").fieldNames(); it.hasNext(); ) {
            String fn = it.next();
            row(s, "network attach p50 / p99 (" + fn + " cold starts), ms", sh.path("coldStart").path(fn).path("networkAttachMs"),
                    lg.path("coldStart").path(fn).path("networkAttachMs"));
            row(s, "cold start invoke p50 / p99 (" + fn + "), ms", sh.path("coldStart").path(fn).path("invokeMs"), lg.path("coldStart").path(fn).path("invokeMs"));
            row(s, "sandbox p50 / p99 (" + fn + " cold starts), ms", sh.path("coldStart").path(fn).path("sandboxMs"),
                    lg.path("coldStart").path(fn).path("sandboxMs"));
        }
        row(s, "baseline: wake-up delay of a 1 ms sleep during the cold starts, p50 / p99, ms", sh.path("baselineWakeUpDelayMs"),
                lg.path("baselineWakeUpDelayMs"));
        row(s, "warm invoke p50 / p99, ms", sh.path("warmInvokeMs"), lg.path("warmInvokeMs"));
        JsonNode noVpc = r.path("withoutVpc").path("withoutVpc");
        JsonNode inVpc = r.path("withoutVpc").path("inVpc");
        s.append("| python cold start invoke p50 / p99 without a VpcConfig (internet host) / in a VPC (database), same run, shared model, ms | ")
                .append(noVpc.path("invokeMs").path("p50").asDouble()).append(" / ").append(noVpc.path("invokeMs").path("p99").asDouble())
                .append(" | ").append(inVpc.path("invokeMs").path("p50").asDouble()).append(" / ").append(inVpc.path("invokeMs").path("p99").asDouble())
                .append(" | ").append(String.format("%.2f", inVpc.path("invokeMs").path("p50").asDouble()
                        / Math.max(0.01, noVpc.path("invokeMs").path("p50").asDouble()))).append(" (VPC / no VPC) |\n");
        s.append("| network attach p50 / p99 of those cold starts, without a VpcConfig / in a VPC, ms | ")
                .append(noVpc.path("networkAttachMs").path("p50").asDouble()).append(" / ").append(noVpc.path("networkAttachMs").path("p99").asDouble())
                .append(" | ").append(inVpc.path("networkAttachMs").path("p50").asDouble()).append(" / ")
                .append(inVpc.path("networkAttachMs").path("p99").asDouble()).append(" | |\n");
        s.append("| Pending -> Active after CreateFunction (a new ENI each), p50 / p99, ms | ").append(r.path("pendingToActiveMs").path("p50").asDouble())
                .append(" / ").append(r.path("pendingToActiveMs").path("p99").asDouble()).append(" | (same control plane) | |\n");
        JsonNode sandbox = r.path("sandboxLaunch");
        s.append("| launch of /bin/true, pre-sandbox chain / sandboxed, p50 (p99), ms | ")
                .append(sandbox.path("bareLaunchMs").path("p50").asDouble()).append(" (").append(sandbox.path("bareLaunchMs").path("p99").asDouble())
                .append(") | ").append(sandbox.path("sandboxedLaunchMs").path("p50").asDouble()).append(" (")
                .append(sandbox.path("sandboxedLaunchMs").path("p99").asDouble()).append(") | added ").append(sandbox.path("addedP50Ms").asDouble())
                .append(" (").append(sandbox.path("addedP99Ms").asDouble()).append(") |\n");
        for (var it = sh.path("invokesPerSecond").fieldNames(); it.hasNext(); ) {
            String c = it.next();
            long a = sh.path("invokesPerSecond").path(c).asLong();
            long b = lg.path("invokesPerSecond").path(c).asLong();
            s.append("| invokes/s at concurrency ").append(c.substring(1)).append(" | ").append(a).append(" | ").append(b).append(" | ")
                    .append(a == 0 ? "-" : String.format("%.2f", b / (double) a)).append(" |\n");
        }
        for (var it = sh.path("subnetIpsInUse").fieldNames(); it.hasNext(); ) {
            String c = it.next();
            long a = sh.path("subnetIpsInUse").path(c).asLong();
            long b = lg.path("subnetIpsInUse").path(c).asLong();
            s.append("| subnet IPs held by function ENIs at concurrency ").append(c.substring(1)).append(" | ").append(a).append(" | ").append(b)
                    .append(" | ").append(a == 0 ? "-" : String.format("%.0f", b / (double) a)).append(" |\n");
        }
        JsonNode bs = sh.path("burst");
        JsonNode bl = lg.path("burst");
        s.append("| burst of ").append(bs.path("invocations").asInt()).append(": succeeded / cold starts | ").append(bs.path("succeeded").asLong()).append(" / ")
                .append(bs.path("coldStarts").asLong()).append(" | ").append(bl.path("succeeded").asLong()).append(" / ").append(bl.path("coldStarts").asLong())
                .append(" | |\n");
        s.append("| burst: network attach p50 / p99, ms | ").append(bs.path("networkAttachP50Ms").asDouble()).append(" / ")
                .append(bs.path("networkAttachP99Ms").asDouble()).append(" | ").append(bl.path("networkAttachP50Ms").asDouble()).append(" / ")
                .append(bl.path("networkAttachP99Ms").asDouble()).append(" | |\n");
        s.append("| burst: until all answered, ms | ").append(bs.path("untilAllAnsweredMs").asLong()).append(" | ").append(bl.path("untilAllAnsweredMs").asLong())
                .append(" | ").append(String.format("%.2f", bl.path("untilAllAnsweredMs").asDouble() / Math.max(1, bs.path("untilAllAnsweredMs").asDouble())))
                .append(" |\n");
        s.append("| legacy ENIs created / creations throttled | 0 / 0 | ").append(lg.path("worker").path("legacyEnisCreated").asLong()).append(" / ")
                .append(lg.path("worker").path("legacyEniCreationsThrottled").asLong()).append(" | |\n");
        return s.toString();
    }

    private static void row(StringBuilder s, String name, JsonNode a, JsonNode b) {
        s.append("| ").append(name).append(" | ").append(a.path("p50").asDouble()).append(" / ").append(a.path("p99").asDouble()).append(" | ")
                .append(b.path("p50").asDouble()).append(" / ").append(b.path("p99").asDouble()).append(" | ")
                .append(a.path("p50").asDouble() == 0 ? "-" : String.format("%.1f", b.path("p50").asDouble() / a.path("p50").asDouble())).append(" |\n");
    }
}
