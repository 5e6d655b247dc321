package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cli.Main;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.linux.Directories;
import io.hyperplane.linux.exec.DetachedProcess;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.sigv4.Credential;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvocationType;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 15: an acknowledged Event invocation survives a control plane killed with SIGKILL. The
 * control plane runs as a {@code hyperplane server} process of its own (with the lab fabric); a
 * forwarder node and a worker run beside it as processes and stay up. 1,000 Event invocations of a
 * function in a VPC are acknowledged (202), the server is killed while they are queued, retrying
 * (every tenth fails its first attempt) and running, and restarted on the same data directory and
 * port. Each event's function records the event's id in a database on an instance of the VPC
 * (sqlite, in the instance's UserData); the test then waits until the database holds every id.
 * AWS delivers asynchronous events at least once, so an id recorded more than it should be is a
 * duplicate: counted and printed, not failed.
 */
@Timeout(300)
class EventDurabilityEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Names every namespace of this test: the fabric's (by the server) and the two hosts' (by the test). */
    private static final String PREFIX = "hp-ev-";
    private static final String NODE_HOST = PREFIX + "node";
    private static final String WORKER_HOST = PREFIX + "worker";
    private static final int EVENTS = 1000;
    /** Every tenth event fails its first attempt, so that some are waiting for a retry when the server dies. */
    private static final int FAIL_FIRST_EVERY = 10;
    /** The kill comes once this many are recorded: most of the 1,000 are still queued then, a few running. */
    private static final int KILL_AFTER_RECORDED = 300;
    /**
     * Few enough that the 1,000 take a while to run (the kill finds most still queued), and the
     * worker starts few environments; the throttled events wait in the queue, as on AWS.
     */
    private static final int RESERVED_CONCURRENCY = 5;
    /** The id of the synchronous call that shows the node and the worker working with the restarted server (not an event). */
    private static final int AFTER_RESTART_ID = -1;
    /** Retry delays (AWS's 1 and 2 minutes, and the backoff of throttles and system errors) in milliseconds here. */
    private static final String EVENT_DELAY_SCALE = "0.001";
    /** How long, after the restart, every acknowledged event may take to be recorded: the whole backlog, with retries. */
    private static final Duration ALL_RECORDED_WITHIN = Duration.ofSeconds(90);
    /** How long, once every event is recorded, the server's queue may take to have nothing left to (re)deliver. */
    private static final Duration SETTLE_WITHIN = Duration.ofSeconds(60);

    /** The instance's database: POST /record {id, request} answers how often the id is recorded now; GET /ids, id -> count. */
    private static final String DATABASE = """
            import http.server, json, sqlite3, threading
            db = sqlite3.connect("/var/lib/events.db", check_same_thread=False, isolation_level=None)  # autocommit: one transaction per row
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER NOT NULL, request TEXT NOT NULL)")
            lock = threading.Lock()

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    with lock:
                        db.execute("INSERT INTO events VALUES (?, ?)", (event["id"], event["request"]))
                        n = db.execute("SELECT COUNT(*) FROM events WHERE id = ?", (event["id"],)).fetchone()[0]
                    self.answer({"recorded": n})

                def do_GET(self):
                    with lock:
                        rows = db.execute("SELECT id, COUNT(*) FROM events GROUP BY id").fetchall()
                    self.answer({str(i): n for i, n in rows})

                def answer(self, body):
                    data = json.dumps(body).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

                def log_message(self, *args):
                    pass

            server = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler)
            print("events database ready", flush=True)
            server.serve_forever()
            """;
    /** Records its event's id on the instance, fails the first attempt of every tenth, and works a little (so some are running). */
    private static final String FUNCTION = """
            import json, time, urllib.request

            def handler(event, context):
                body = json.dumps({"id": event["id"], "request": context.aws_request_id}).encode()
                request = urllib.request.Request("http://" + event["database"] + "/record", data=body, method="POST",
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as r:
                    recorded = json.loads(r.read())["recorded"]
                time.sleep(0.05)
                if event["id"] %% %d == 0 and recorded == 1:
                    raise RuntimeError("event %%d fails its first attempt" %% event["id"])
                return recorded
            """.formatted(FAIL_FIRST_EVERY);

    private Path dir;
    private int port;
    private DetachedProcess server;
    private DetachedProcess node;
    private DetachedProcess worker;
    private int incarnation;

    @BeforeEach
    void removeWhatAKilledRunLeft() throws Exception {
        removeEverything();
        dir = Files.createTempDirectory("hp-events-e2e");
    }

    @AfterEach
    void removeEverythingByName() throws Exception {
        try {
            removeEverything();
        } finally {
            if (dir != null) {
                Directories.deleteTree(dir);
            }
        }
    }

    @Test
    void shouldRunEveryAcknowledgedEventAtLeastOnceAfterTheServerIsKilledWithSigkill() throws Exception {
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        startServer();
        Credential key = Ec2QueryClient.credentialsFrom(dir.resolve("data").resolve("credentials"));
        StaticCredentialsProvider credentials = AwsClients.credentials(key);
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        try (Ec2Client ec2 = AwsClients.ec2(endpoint, credentials); IamClient iam = AwsClients.iam(endpoint, credentials);
             LambdaClient lambda = AwsClients.patientLambda(endpoint, credentials, Duration.ofSeconds(30))) {
            String vpc = ec2.createVpc(b -> b.cidrBlock("10.77.0.0/16")).vpc().vpcId();
            String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.77.1.0/24")).subnet().subnetId();
            String fnGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("functions").description("functions")).groupId();
            String dbGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("db").description("db")).groupId();
            ec2.authorizeSecurityGroupIngress(b -> b.groupId(dbGroup).ipPermissions(p -> p.ipProtocol("tcp").fromPort(8080).toPort(8080)
                    .userIdGroupPairs(g -> g.groupId(fnGroup))));
            String userData = "#!/bin/sh\ncat > /root/events.py <<'EOF'\n" + DATABASE + "EOF\nexec python3 -u /root/events.py\n";
            Instance db = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(dbGroup)
                    .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
            String instanceNamespace = LabFabric.instanceNamespace(PREFIX, db.instanceId());

            // The hosts join the underlay the server's fabric made for the VPC.
            await().atMost(Duration.ofSeconds(60)).until(() -> Namespaces.list().contains(LabFabric.underlayNamespace(PREFIX)));
            joinHost(NODE_HOST, "hp-un", LocalCloud.NODE_IP);
            LocalCloud.holdAnycast(NODE_HOST);
            joinHost(WORKER_HOST, "hp-uw", LocalCloud.WORKER_IP);
            startNodeAndWorker();

            String role = iam.createRole(b -> b.roleName("events-role").assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
            iam.attachRolePolicy(b -> b.roleName("events-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> recorded(instanceNamespace).isEmpty());
            lambda.createFunction(b -> b.functionName("recorder").role(role).runtime("python3.12").handler("app.handler").timeout(10).memorySize(128)
                    .code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", FUNCTION)))))
                    .vpcConfig(v -> v.subnetIds(subnet).securityGroupIds(fnGroup)));
            lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("recorder"), AwsClients.promptly());
            lambda.putFunctionConcurrency(b -> b.functionName("recorder").reservedConcurrentExecutions(RESERVED_CONCURRENCY));

            String database = db.privateIpAddress() + ":8080";
            ExecutorService senders = Executors.newFixedThreadPool(16);
            List<Future<Integer>> sent = new ArrayList<>();
            for (int id = 0; id < EVENTS; id++) {
                String event = "{\"id\":" + id + ",\"database\":\"" + database + "\"}";
                sent.add(senders.submit(() -> lambda.invoke(b -> b.functionName("recorder").invocationType(InvocationType.EVENT)
                        .payload(SdkBytes.fromUtf8String(event))).statusCode()));
            }
            for (Future<Integer> f : sent) {
                assertThat(f.get()).as("every event is acknowledged").isEqualTo(202);
            }
            senders.shutdown();

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> recorded(instanceNamespace).size() >= KILL_AFTER_RECORDED);
            ProcessHandle.of(server.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL
            ProcessHandle.of(server.pid()).ifPresent(p -> p.onExit().join());
            int recordedAtKill = recorded(instanceNamespace).size();
            System.out.println("killed the server with " + recordedAtKill + " of " + EVENTS + " events recorded");
            startServer();
            long restarted = System.nanoTime();
            // The node and the worker carry on with the restarted server: a synchronous call (an id of
            // its own) runs once the worker's heartbeat has registered it again and the function's
            // reserved concurrency has room beside the backlog (until then it is throttled).
            String probe = "{\"id\":" + AFTER_RESTART_ID + ",\"database\":\"" + database + "\"}";
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> lambda.invoke(b -> b.functionName("recorder").payload(SdkBytes.fromUtf8String(probe))).functionError() == null);
            System.out.printf("a synchronous call ran %.1f s after the restart%n", (System.nanoTime() - restarted) / 1e9);

            List<Integer> all = IntStream.range(0, EVENTS).boxed().toList();
            try {
                await().atMost(ALL_RECORDED_WITHIN).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                        .until(() -> unfinished(all, recorded(instanceNamespace)).isEmpty());
                // Late redeliveries (an event that was running when the server died, queued again by
                // the restarted one) are duplicates too: counted once the server's queue holds nothing
                // that could run again, neither queued (a retry's delay included) nor in flight. (An
                // attempt the killed server had started ends within the function's 10 s timeout of the
                // kill, long before the backlog is through.)
                Ec2QueryClient views = new Ec2QueryClient(endpoint, key);
                await().atMost(SETTLE_WITHIN).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                        .until(() -> nothingLeftToRun(views, "recorder"));
            } finally {
                Map<Integer, Integer> counts = recorded(instanceNamespace);
                List<Integer> lost = unfinished(all, counts);
                TreeMap<Integer, Integer> duplicated = new TreeMap<>();
                for (int id : all) {
                    int extra = counts.getOrDefault(id, 0) - runsOf(id);
                    if (extra > 0) {
                        duplicated.put(id, extra);
                    }
                }
                System.out.println("events: " + EVENTS + " acknowledged, " + recordedAtKill + " recorded at the kill, " + lost.size() + " lost, "
                        + duplicated.values().stream().mapToInt(Integer::intValue).sum() + " duplicate runs (of " + duplicated.size() + " events"
                        + (duplicated.isEmpty() ? "" : ": id=extra runs " + duplicated) + ")");
                assertThat(lost.size()).as("acknowledged events not run to success after the kill (first: %s)", lost.stream().limit(10).toList())
                        .isZero();
            }
        }
    }

    /** Whether the server's queue holds none of {@code function}'s events (GET /hyperplane/v1/events, what {@code hyperplane events} shows). */
    private static boolean nothingLeftToRun(Ec2QueryClient views, String function) throws IOException, InterruptedException {
        for (JsonNode f : JSON.readTree(views.getJson("/hyperplane/v1/events")).path("Functions")) {
            if (f.path("FunctionName").asText().equals(function)) {
                return f.path("Queued").asLong() == 0 && f.path("InFlight").asLong() == 0;
            }
        }
        return false;
    }

    /** How often an event runs when nothing is lost or duplicated: every tenth twice (the failed first attempt, then the retry). */
    private static int runsOf(int id) {
        return id % FAIL_FIRST_EVERY == 0 ? 2 : 1;
    }

    /** The events the database does not yet show run to success: never recorded, or every tenth's retry missing. */
    private static List<Integer> unfinished(List<Integer> ids, Map<Integer, Integer> counts) {
        return ids.stream().filter(id -> counts.getOrDefault(id, 0) < runsOf(id)).toList();
    }

    /** The instance's database as id -> times recorded, read from inside the instance's namespace (its loopback). */
    private static Map<Integer, Integer> recorded(String instanceNamespace) throws IOException, InterruptedException {
        String out = LocalCloud.run("ip", "netns", "exec", instanceNamespace, "python3", "-c",
                "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:8080/ids', timeout=5).read().decode())");
        Map<Integer, Integer> counts = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : JSON.readTree(out).properties()) {
            counts.put(Integer.parseInt(e.getKey()), e.getValue().asInt());
        }
        return counts;
    }

    /**
     * {@code hyperplane server} on the test's data directory and port, with the lab fabric; each
     * incarnation logs to a file of its own.
     */
    private void startServer() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(Jvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx512m"), Main.class.getName()));
        command.addAll(List.of("server", "--data-dir", dir.resolve("data").toString(), "--listen", "127.0.0.1:" + port,
                "--fabric", "lab", "--fabric-prefix", PREFIX, "--event-delay-scale", EVENT_DELAY_SCALE));
        server = DetachedProcess.start("server", command, dir.resolve("server-" + ++incarnation + ".log"), false);
        server.awaitReady("hyperplane server ready", Duration.ofSeconds(60));
    }

    private void startNodeAndWorker() throws IOException, InterruptedException {
        Path token = dir.resolve("data").resolve("node-token");
        List<String> jvm = List.of("--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseZGC");
        Path nodeDir = Files.createDirectories(dir.resolve("node"));
        List<String> nodeCommand = new ArrayList<>(Jvm.command(jvm, Main.class.getName()));
        nodeCommand.addAll(List.of("node", "--control", "http://127.0.0.1:" + port, "--token-file", token.toString(), "--netns", NODE_HOST,
                "--listen", LocalCloud.NODE_LISTEN, "--underlay-ip", LocalCloud.NODE_IP, "--name", "ev-n1", "--state-dir", nodeDir.toString()));
        node = DetachedProcess.start("forwarder node", nodeCommand, nodeDir.resolve("node.log"), false);
        node.awaitReady("ready", Duration.ofSeconds(60));
        Path workerDir = Files.createDirectories(dir.resolve("worker"));
        List<String> workerCommand = new ArrayList<>(Jvm.command(jvm, Main.class.getName()));
        workerCommand.addAll(List.of("worker", "--control", "http://127.0.0.1:" + port, "--token-file", token.toString(), "--netns", WORKER_HOST,
                "--underlay-ip", LocalCloud.WORKER_IP, "--name", "ev", "--state-dir", workerDir.toString(), "--network-model", "shared",
                "--idle-timeout", "300", "--ready-networks", Integer.toString(RESERVED_CONCURRENCY)));
        worker = DetachedProcess.start("worker", workerCommand, workerDir.resolve("worker.log"), false);
        worker.awaitReady("ready", Duration.ofSeconds(60));
    }

    private static void joinHost(String namespace, String peer, String ip) throws IOException, InterruptedException {
        LocalCloud.run("ip", "netns", "add", namespace);
        LocalCloud.joinUnderlay(namespace, LabFabric.underlayNamespace(PREFIX), peer, ip);
    }

    /**
     * The worker first (SIGTERM: it removes its environments), then the node and the server; the
     * hosts' namespaces by name; then the fabric the server built, by its journal.
     */
    private void removeEverything() throws InterruptedException {
        for (DetachedProcess p : new DetachedProcess[] {worker, node, server}) {
            if (p != null) {
                ProcessHandle.of(p.pid()).ifPresent(h -> {
                    h.destroy();
                    if (h.onExit().completeOnTimeout(null, 20, TimeUnit.SECONDS).join() == null) {
                        h.destroyForcibly();
                    }
                });
            }
        }
        worker = null;
        node = null;
        server = null;
        List<String> hosts = List.of(NODE_HOST, WORKER_HOST).stream().filter(Namespaces.list()::contains).toList();
        Namespaces.killProcesses(hosts, Duration.ofSeconds(2));
        hosts.forEach(Namespaces::delete);
        new Lab(Lab.DEFAULT_STATE_ROOT.resolve(PREFIX), line -> System.out.println("  " + line)).down();
    }
}
