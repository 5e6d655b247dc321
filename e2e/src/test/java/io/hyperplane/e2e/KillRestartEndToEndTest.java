package io.hyperplane.e2e;

import io.hyperplane.cli.Main;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code worker}, {@code node} and {@code server}, each run as its own process, killed with SIGKILL
 * (nothing of theirs runs at their end), restarted on the same state and names, then stopped with
 * SIGTERM: the restart removes what the killed one left, and the stop leaves nothing (issue 15).
 * The worker and the node run against a control plane in this JVM with a lab fabric of their own
 * ("hp-kr-"), from namespaces on its underlay, as under {@code up}.
 */
@Timeout(300)
class KillRestartEndToEndTest {
    private static final String PREFIX = "hp-kr-";
    private static final String NODE_NS = PREFIX + "node";
    private static final String WORKER_NS = PREFIX + "worker";
    private static final String WORKER = "kw";

    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private final List<Daemon> started = new CopyOnWriteArrayList<>();

    /** A {@code hyperplane} process: its output as it comes, and every process it started. */
    private final class Daemon {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final Set<Long> pids = ConcurrentHashMap.newKeySet();

        Daemon(String... args) throws IOException {
            List<String> command = new ArrayList<>(Jvm.command(List.of("--enable-native-access=ALL-UNNAMED",
                    "-Djava.io.tmpdir=" + tmp()), Main.class.getName()));
            command.addAll(List.of(args));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().put("TMPDIR", tmp().toString());
            process = builder.start();
            pids.add(process.pid());
            started.add(this);
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            Thread.ofVirtual().start(() -> out.lines().forEach(lines::add));
            Thread.ofVirtual().start(() -> {
                while (process.isAlive()) {
                    process.descendants().forEach(p -> pids.add(p.pid()));
                    try {
                        process.waitFor(20, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            await().atMost(Duration.ofSeconds(90)).until(() -> !process.isAlive() || lines.stream().anyMatch(l -> l.contains(" ready")));
            assertThat(process.isAlive()).as("%s exited before it was ready:%n%s", args[0], String.join("\n", lines)).isTrue();
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }

        void stop() throws InterruptedException {
            process.destroy(); // SIGTERM
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s:%n%s", String.join("\n", lines)).isTrue();
        }
    }

    private Path tmp() throws IOException {
        return Files.createDirectories(dir.resolve("tmp"));
    }

    @BeforeEach
    void startControlPlane() throws Exception {
        LabFabric fabric = new LabFabric(Lab.DEFAULT_STATE_ROOT.resolve(PREFIX), PREFIX, line -> { });
        server = ControlPlaneServer.start(ControlPlaneServer.Settings.local(dir.resolve("control"), "127.0.0.1:0"), fabric);
        fabric.pinUnderlay();
        String underlay = LabFabric.underlayNamespace(PREFIX);
        LocalCloud.run("ip", "netns", "add", NODE_NS);
        LocalCloud.joinUnderlay(NODE_NS, underlay, "hp-krn", LocalCloud.NODE_IP);
        LocalCloud.holdAnycast(NODE_NS);
        LocalCloud.run("ip", "netns", "add", WORKER_NS);
        LocalCloud.joinUnderlay(WORKER_NS, underlay, "hp-krw", LocalCloud.WORKER_IP);
    }

    @AfterEach
    void removeEverything() throws Exception {
        for (Daemon d : started) { // what a failed test left running: stopped as it would be, then by the pids it had
            d.process.destroy();
            d.process.waitFor(30, TimeUnit.SECONDS);
            for (long pid : d.pids) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        List<String> ours = new ArrayList<>(List.of(NODE_NS, WORKER_NS));
        ours.addAll(namespaces("hp-ee-" + WORKER + "-")); // a worker killed by a failed test left these
        Namespaces.killProcesses(ours, Duration.ofSeconds(1));
        ours.forEach(Namespaces::delete);
        if (server != null) {
            server.close();
        }
        new Lab(Lab.DEFAULT_STATE_ROOT.resolve(PREFIX), line -> { }).down();
    }

    private Daemon node(Path state) throws IOException {
        return new Daemon("node", "--control", server.endpoint().toString(), "--token-file", dir.resolve("control/node-token").toString(),
                "--netns", NODE_NS, "--listen", LocalCloud.NODE_LISTEN, "--underlay-ip", LocalCloud.NODE_IP, "--name", "kn", "--state-dir", state.toString());
    }

    private Daemon worker(Path state) throws IOException {
        Daemon worker = new Daemon("worker", "--control", server.endpoint().toString(), "--token-file", dir.resolve("control/node-token").toString(),
                "--netns", WORKER_NS, "--underlay-ip", LocalCloud.WORKER_IP, "--name", WORKER, "--state-dir", state.toString(),
                "--network-model", "shared", "--ready-networks", "4");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.workers().live().stream().anyMatch(w -> w.name().equals(WORKER)));
        return worker;
    }

    private static String stat(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return "(gone)";
        }
    }

    private static Set<String> namespaces(String prefix) {
        return Namespaces.list().stream().filter(n -> n.startsWith(prefix)).collect(Collectors.toSet());
    }

    private static void assertNoneLeft(HostLeftovers leftovers, Daemon... runs) {
        Set<Long> pids = new HashSet<>();
        for (Daemon run : runs) {
            pids.addAll(run.pids);
        }
        assertThat(leftovers.find(pids)).isEmpty();
    }

    @Test
    void shouldLeaveNothingOfAWorkerKilledWithItsEnvironmentsRunningOnceRestartedAndStopped() throws Exception {
        Daemon node = node(dir.resolve("node"));
        Path state = dir.resolve("worker");
        Daemon killed = worker(state);
        try (LambdaClient lambda = AwsClients.lambda(server.endpoint(), AwsClients.credentials(server.defaultCredential()));
             IamClient iam = AwsClients.iam(server.endpoint(), AwsClients.credentials(server.defaultCredential()))) {
            String role = iam.createRole(b -> b.roleName("fn").assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
            lambda.createFunction(b -> b.functionName("fn").role(role).runtime("python3.12").handler("app.handler")
                    .code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", "def handler(e, c):\n    return 'ok'\n"))))));
            lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("fn"), AwsClients.promptly());
            assertThat(lambda.invoke(b -> b.functionName("fn")).payload().asUtf8String()).isEqualTo("\"ok\"");

            killed.kill();
            Set<String> leftByTheKill = namespaces("hp-ee-" + WORKER + "-");
            assertThat(leftByTheKill).as("a worker killed with SIGKILL removes nothing itself").isNotEmpty();
            assertThat(UidLeaseFiles.held(WORKER)).as("its environment's uid is still leased").isNotEmpty();
            server.workers().remove(WORKER);

            Daemon restarted = worker(state);
            assertThat(Namespaces.list()).as("the restart removed the killed worker's namespaces; its log:%n%s", String.join("\n", restarted.lines))
                    .doesNotContainAnyElementsOf(leftByTheKill);
            assertThat(killed.pids.stream().filter(HostLeftovers::running).map(pid -> pid + " " + stat(pid)))
                    .as("and its environments' processes").isEmpty();
            assertThat(lambda.invoke(b -> b.functionName("fn")).payload().asUtf8String()).isEqualTo("\"ok\"");

            restarted.stop();
            assertNoneLeft(new HostLeftovers(state, List.of("hp-ee-" + WORKER + "-"), List.of(WORKER), tmp()), killed, restarted);
        } finally {
            node.stop();
        }
    }

    @Test
    void shouldLeaveNothingOfANodeKilledOnceRestartedAndStopped() throws Exception {
        Path state = dir.resolve("node");
        Daemon killed = node(state);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.nodes().live().stream().anyMatch(n -> n.name().equals("kn")));
        killed.kill();

        Daemon restarted = node(state);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.nodes().live().stream().anyMatch(n -> n.name().equals("kn")));
        restarted.stop();

        assertNoneLeft(new HostLeftovers(state, List.of(), List.of(), tmp()), killed, restarted);
        assertThat(Namespaces.pids(NODE_NS)).as("nothing runs in the node's namespace").isEmpty();
    }

    /**
     * The server's lab fabric is the store's VPCs made real, and outlives the server by design
     * (docs/aws-cli.md: {@code hyperplane lab down} removes it): after the kill the restart adopts
     * it as it was, with nothing doubled or orphaned; after the stop nothing else is left.
     */
    @Test
    void shouldLeaveNothingOfAServerKilledOnceRestartedAndStoppedButItsFabric() throws Exception {
        String prefix = "hp-ks-";
        Path data = dir.resolve("server");
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        String[] command = {"server", "--data-dir", data.toString(), "--listen", "127.0.0.1:" + port, "--fabric", "lab", "--fabric-prefix", prefix};
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        try {
            Daemon killed = new Daemon(command);
            try (Ec2Client ec2 = AwsClients.ec2(endpoint, AwsClients.credentials(Ec2QueryClient.credentialsFrom(data.resolve("credentials"))))) {
                String vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
                ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24"));
                await().atMost(Duration.ofSeconds(30)).until(() -> namespaces(prefix).stream().anyMatch(n -> n.startsWith(prefix + "vpc-")));
            }
            Set<String> fabric = namespaces(prefix);
            killed.kill();

            Daemon restarted = new Daemon(command);
            assertThat(namespaces(prefix)).as("the restart adopted the fabric as it was").isEqualTo(fabric);
            restarted.stop();
            assertThat(namespaces(prefix)).as("the fabric outlives the server").isEqualTo(fabric);

            new Lab(Lab.DEFAULT_STATE_ROOT.resolve(prefix), line -> { }).down();
            assertNoneLeft(new HostLeftovers(data, List.of(prefix), List.of(), tmp()), killed, restarted);
        } finally {
            new Lab(Lab.DEFAULT_STATE_ROOT.resolve(prefix), line -> { }).down();
        }
    }
}
