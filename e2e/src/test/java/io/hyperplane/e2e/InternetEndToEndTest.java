package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.cli.Main;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.node.CountersFile;
import org.awaitility.core.ConditionTimeoutException;
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
import software.amazon.awssdk.core.waiters.WaiterOverrideConfiguration;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Address;
import software.amazon.awssdk.services.ec2.model.ConnectivityType;
import software.amazon.awssdk.services.ec2.model.DomainType;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.NatGateway;
import software.amazon.awssdk.services.ec2.model.NatGatewayAddress;
import software.amazon.awssdk.services.ec2.model.NatGatewayState;
import software.amazon.awssdk.services.ec2.model.VpcAttributeName;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.ResourceNotFoundException;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Issue 16's way out, for real and through the AWS SDK only: a VPC with an internet gateway, a
 * public subnet (an instance with an Elastic IP, a public NAT gateway with its own) and a private
 * subnet routed through the NAT gateway (an instance and a VPC function); a function in the public
 * subnet and one without a VpcConfig. The simulated internet's host (203.0.113.10) serves whoami and
 * echo; everything stays in this test's namespaces.
 *
 * <p>Instances run a small agent from their UserData (python3: {@link #PROBES} behind HTTP on 8080)
 * that the test asks, over the instance's own loopback, to fetch, resolve or hold connections;
 * functions run the same probes from their handler. One cloud for the class; the forwarder node's
 * NAT limits are scaled down ({@link #NAT_LIMIT} connections per destination, {@link #NAT_IDLE_SECONDS}
 * s idle) so that AWS's 55,000 and 350 s are tested in seconds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(600)
class InternetEndToEndTest {
    private static final String PREFIX = "hp-it-";
    private static final String WORKER = "it";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** AWS's 55,000 simultaneous connections per destination (IP, port, protocol), scaled down. */
    private static final int NAT_LIMIT = 50;
    /**
     * AWS's 350 s idle timeout, scaled down: long enough that the {@link #NAT_LIMIT} held connections
     * are still open when the one past the limit is refused (about a second later), short enough to wait for.
     */
    private static final int NAT_IDLE_SECONDS = 8;
    /**
     * The node's NAT gateway limits, scaled down: connections per destination, and the idle timeout
     * (the node's one for established TCP, which its NAT gateways share, as AWS's 350 s is both).
     * One forwarding thread: each thread of several holds its share of the limit, so the exact
     * count of the test would depend on how its connections spread.
     */
    private static final List<String> NODE_OPTIONS = List.of("--threads", "1",
            "--nat-connections-per-destination", Integer.toString(NAT_LIMIT),
            "--tcp-established-timeout", Integer.toString(NAT_IDLE_SECONDS));
    /** The NAT gateway's metrics as the node counts them, by CloudWatch's names. */
    private static final String ERROR_PORT_ALLOCATION = "ErrorPortAllocation";
    private static final String IDLE_TIMEOUT_COUNT = "IdleTimeoutCount";
    private static final String ACTIVE_CONNECTION_COUNT = "ActiveConnectionCount";
    /** The simulated internet's hosts: 203.0.113.10 and the internet's DNS (LabFabric.internetHostsNamespace). */
    private static final String INTERNET_HOST_NAMESPACE = PREFIX + "inet-host";
    private static final String WHOAMI_URL = "http://" + Internet.HOST + "/whoami";
    /** Internet.HOST's TCP echo port: connections that stay open without traffic. */
    private static final int ECHO_PORT = 7;
    private static final String VPC_CIDR = "10.0.0.0/16";
    /** AmazonProvidedDNS: the VPC's base address + 2. */
    private static final String VPC_DNS = "10.0.0.2";
    private static final Duration AGENT_CALL = Duration.ofSeconds(30);
    private static final Duration PROBE_WAIT = Duration.ofSeconds(30);

    /** The network probes an instance's agent and a function both run; every answer is a dict with "ok". */
    static final String PROBES = """
            import random, socket, struct, urllib.request

            HELD = []


            def run(q):
                \"""The probe q["action"] names; its arguments are strings (a query string's) or numbers (an event's).\"""
                try:
                    action = q["action"]
                    if action == "fetch":
                        with urllib.request.urlopen(q["url"], timeout=float(q.get("timeout", 3))) as r:
                            return {"ok": True, "body": r.read().decode().strip()}
                    if action == "resolve":
                        return {"ok": True, "address": socket.gethostbyname(q["name"])}
                    if action == "dns":
                        return dns(q["server"], q["name"], float(q.get("timeout", 1)))
                    if action == "hold":
                        return hold(q["host"], int(q["port"]), int(q["count"]), float(q.get("timeout", 1)))
                    if action == "release":
                        released = len(HELD)
                        while HELD:
                            HELD.pop().close()
                        return {"ok": True, "released": released}
                    return {"ok": False, "error": "unknown action " + action}
                except Exception as e:
                    return {"ok": False, "error": type(e).__name__, "detail": str(e)}


            def hold(host, port, count, timeout):
                \"""Opens count connections to one destination, one after another, each proven by an echo; keeps them open.\"""
                connected, errors = 0, {}
                for _ in range(count):
                    try:
                        s = socket.create_connection((host, port), timeout=timeout)
                        s.sendall(b"hi")
                        if s.recv(2) != b"hi":
                            raise ConnectionError("no echo")
                        HELD.append(s)
                        connected += 1
                    except Exception as e:
                        errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                return {"ok": connected == count, "connected": connected, "failed": count - connected, "errors": errors}


            def dns(server, name, timeout):
                \"""One A query straight to server, no resolv.conf and no retry: its addresses and rcode.\"""
                question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + bytes(1) + struct.pack("!HH", 1, 1)
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(timeout)
                try:
                    s.sendto(struct.pack("!HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0) + question, (server, 53))
                    reply = s.recv(4096)
                finally:
                    s.close()
                flags, questions, answers = struct.unpack("!HHH", reply[2:8])
                pos = 12
                for _ in range(questions):
                    pos = skip_name(reply, pos) + 4
                addresses = []
                for _ in range(answers):
                    pos = skip_name(reply, pos)
                    rtype, _, _, length = struct.unpack("!HHIH", reply[pos:pos + 10])
                    pos += 10
                    if rtype == 1 and length == 4:
                        addresses.append(socket.inet_ntoa(reply[pos:pos + 4]))
                    pos += length
                return {"ok": flags & 0xF == 0 and bool(addresses), "rcode": flags & 0xF, "addresses": addresses}


            def skip_name(message, pos):
                while message[pos] != 0:
                    if message[pos] & 0xC0 == 0xC0:
                        return pos + 2
                    pos += 1 + message[pos]
                return pos + 1
            """;
    /** An instance's agent: the probes on /run, and on /whoami the address a caller comes from. */
    static final String AGENT = """
            import json, urllib.parse
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            import probes


            class Agent(BaseHTTPRequestHandler):
                def do_GET(self):
                    url = urllib.parse.urlsplit(self.path)
                    if url.path == "/whoami":
                        answer = {"ok": True, "peer": self.client_address[0]}
                    else:
                        answer = probes.run(dict(urllib.parse.parse_qsl(url.query)))
                    body = json.dumps(answer).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, format, *args):
                    pass


            ThreadingHTTPServer(("0.0.0.0", 8080), Agent).serve_forever()
            """;
    static final String HANDLER = """
            import probes


            def handler(event, context):
                return probes.run(event)
            """;
    /** Run in a namespace of the test's: one GET, its body printed (or a JSON failure). */
    private static final String GET = """
            import json, sys, urllib.request
            try:
                print(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())
            except Exception as e:
                print(json.dumps({"ok": False, "error": type(e).__name__, "detail": str(e)}))
            """;

    private RuntimeWorld w;
    private Ec2Client ec2;
    private String vpc;
    private String igw;
    private String publicSubnet;
    private String privateSubnet;
    private String publicTable;
    private String privateTable;
    private String agents;
    private String functions;
    private String instanceAllocation;
    private String instanceEip;
    private String instanceAssociation;
    private String natAllocation;
    private String natEip;
    private String nat;
    private Instance publicInstance;
    private Instance privateInstance;

    @BeforeAll
    void start() throws Exception {
        w = new RuntimeWorld(PREFIX, WORKER, "shared", s -> s, Duration.ofSeconds(300), NODE_OPTIONS);
        ec2 = w.ec2;
        vpc = ec2.createVpc(b -> b.cidrBlock(VPC_CIDR)).vpc().vpcId();
        // Private names resolve with EnableDnsSupport alone on AWS; hostnames on as well, so that the test holds either way.
        ec2.modifyVpcAttribute(b -> b.vpcId(vpc).enableDnsHostnames(v -> v.value(true)));
        igw = ec2.createInternetGateway(b -> { }).internetGateway().internetGatewayId();
        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        publicSubnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24")).subnet().subnetId();
        privateSubnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.2.0/24")).subnet().subnetId();
        publicTable = ec2.createRouteTable(b -> b.vpcId(vpc)).routeTable().routeTableId();
        ec2.createRoute(b -> b.routeTableId(publicTable).destinationCidrBlock("0.0.0.0/0").gatewayId(igw));
        ec2.associateRouteTable(b -> b.routeTableId(publicTable).subnetId(publicSubnet));
        privateTable = ec2.createRouteTable(b -> b.vpcId(vpc)).routeTable().routeTableId();
        ec2.associateRouteTable(b -> b.routeTableId(privateTable).subnetId(privateSubnet));
        agents = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("agents").description("the test's agents")).groupId();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(agents).ipPermissions(p -> p.ipProtocol("tcp").fromPort(8080).toPort(8080)
                .ipRanges(r -> r.cidrIp("0.0.0.0/0"))));
        functions = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("functions").description("functions")).groupId();

        var instanceAddress = ec2.allocateAddress(b -> b.domain(DomainType.VPC));
        instanceAllocation = instanceAddress.allocationId();
        instanceEip = instanceAddress.publicIp();
        var natAddress = ec2.allocateAddress(b -> b.domain(DomainType.VPC));
        natAllocation = natAddress.allocationId();
        natEip = natAddress.publicIp();
        publicInstance = runAgent(publicSubnet);
        privateInstance = runAgent(privateSubnet);
        nat = ec2.createNatGateway(b -> b.subnetId(publicSubnet).allocationId(natAllocation)).natGateway().natGatewayId();

        String role = w.iam.createRole(b -> b.roleName("it-role").assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
        w.iam.attachRolePolicy(b -> b.roleName("it-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        createFunction("it-private", role, privateSubnet);
        createFunction("it-public", role, publicSubnet);
        createFunction("it-egress", role, null);

        // The waits overlap: instances and the NAT gateway come up while the functions do.
        ec2.waiter().waitUntilInstanceRunning(b -> b.instanceIds(publicInstance.instanceId(), privateInstance.instanceId()), quickly());
        instanceAssociation = ec2.associateAddress(b -> b.allocationId(instanceAllocation).instanceId(publicInstance.instanceId())).associationId();
        ec2.waiter().waitUntilNatGatewayAvailable(b -> b.natGatewayIds(nat), quickly());
        ec2.createRoute(b -> b.routeTableId(privateTable).destinationCidrBlock("0.0.0.0/0").natGatewayId(nat));
        w.server.syncFabric();
        for (String f : List.of("it-private", "it-public", "it-egress")) {
            w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName(f), AwsClients.promptly());
        }
        for (Instance i : List.of(publicInstance, privateInstance)) {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                    .until(() -> get(LabFabric.instanceNamespace(PREFIX, i.instanceId()), "http://127.0.0.1:8080/whoami", AGENT_CALL), ok());
        }
    }

    @AfterAll
    void stop() {
        if (w != null) {
            w.close();
        }
        assertThat(Namespaces.list()).as("no namespace of this test is left")
                .noneMatch(n -> n.startsWith(PREFIX) || n.startsWith("hp-ee-" + WORKER + "-"));
    }

    private Instance runAgent(String subnet) {
        String userData = "#!/bin/sh\nmkdir -p /tmp/agent && cd /tmp/agent\ncat > probes.py <<'EOF'\n" + PROBES + "EOF\n"
                + "cat > agent.py <<'EOF'\n" + AGENT + "EOF\nexec python3 agent.py\n";
        return ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(agents)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
    }

    /** A python3.12 function running {@link #PROBES}, in {@code subnet} (or without a VpcConfig when null); not waited for. */
    private void createFunction(String name, String role, String subnet) {
        byte[] zip = RuntimeWorld.zip(Map.of("app.py", HANDLER, "probes.py", PROBES));
        w.lambda.createFunction(b -> {
            b.functionName(name).role(role).runtime("python3.12").handler("app.handler").timeout(30).memorySize(128)
                    .code(c -> c.zipFile(SdkBytes.fromByteArray(zip)));
            if (subnet != null) {
                b.vpcConfig(v -> v.subnetIds(subnet).securityGroupIds(functions));
            }
        });
    }

    /** EC2's waiters poll every 15 s; here things take seconds. */
    private static Consumer<WaiterOverrideConfiguration.Builder> quickly() {
        return o -> o.backoffStrategyV2(BackoffStrategy.fixedDelay(Duration.ofMillis(250))).maxAttempts(480).waitTimeout(Duration.ofSeconds(120));
    }

    /** A GET of {@code url} from {@code namespace} (one of this test's), its body as JSON. */
    private static JsonNode get(String namespace, String url, Duration timeout) throws Exception {
        ExecResult r = Commands.run(timeout.plusSeconds(5), Namespaces.execIn(namespace,
                List.of("python3", "-c", GET, url, Double.toString(timeout.toMillis() / 1000.0))));
        String line = r.stdout().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse(null);
        if (line == null) {
            return JSON.createObjectNode().put("ok", false).put("error", "no answer").put("detail", r.stdout() + r.stderr());
        }
        return JSON.readTree(line);
    }

    /** What the simulated internet's host gets from {@code url}. */
    private static JsonNode fromInternet(String url) throws Exception {
        return get(INTERNET_HOST_NAMESPACE, url, Duration.ofSeconds(3));
    }

    /** Runs a probe (its action and arguments, in pairs) in an instance, asking its agent over the instance's own loopback. */
    private JsonNode agent(Instance instance, String... probe) throws Exception {
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i < probe.length; i += 2) {
            pairs.add(probe[i] + "=" + URLEncoder.encode(probe[i + 1], StandardCharsets.UTF_8));
        }
        return get(LabFabric.instanceNamespace(PREFIX, instance.instanceId()), "http://127.0.0.1:8080/run?" + String.join("&", pairs), AGENT_CALL);
    }

    /** Runs the probe in a function; the probe's answer. */
    private JsonNode invoke(String function, String... probe) throws Exception {
        ObjectNode event = JSON.createObjectNode();
        for (int i = 0; i < probe.length; i += 2) {
            event.put(probe[i], probe[i + 1]);
        }
        InvokeResponse r = w.invoke(function, event.toString());
        assertThat(r.functionError()).as(r.payload().asUtf8String()).isNull();
        return JSON.readTree(r.payload().asUtf8String());
    }

    /** The address whoami answered with ("198.51.100.7:40312" or "198.51.100.7"), or the failure as text. */
    private static String seen(JsonNode probe) {
        return probe.path("ok").asBoolean() ? probe.path("body").asText().split(":")[0] : probe.toString();
    }

    /** The internet host's whoami, fetched from an instance with {@code timeoutSeconds}. */
    private JsonNode whoami(Instance instance, int timeoutSeconds) throws Exception {
        return agent(instance, "action", "fetch", "url", WHOAMI_URL, "timeout", Integer.toString(timeoutSeconds));
    }

    /** The internet host's whoami, fetched from a function with {@code timeoutSeconds}. */
    private JsonNode whoami(String function, int timeoutSeconds) throws Exception {
        return invoke(function, "action", "fetch", "url", WHOAMI_URL, "timeout", Integer.toString(timeoutSeconds));
    }

    /**
     * Repeats a probe until its answer matches: a change (a route, an attribute) reaches the fabric at
     * once and the forwarder node with its next configuration, moments later.
     */
    private static JsonNode awaitProbe(Callable<JsonNode> probe, Predicate<JsonNode> until) {
        return await().atMost(PROBE_WAIT).ignoreExceptions().until(probe, until);
    }

    /**
     * {@link #awaitProbe} of each probe, all at once: a probe that must fail waits out its timeout, in
     * turn they would add up. (One probe per function: a second at once would start another environment.)
     */
    @SafeVarargs
    private static void awaitProbes(Predicate<JsonNode> until, Callable<JsonNode>... probes) throws Exception {
        try (ExecutorService probing = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<JsonNode>> answers = new ArrayList<>();
            for (Callable<JsonNode> probe : probes) {
                answers.add(probing.submit(() -> awaitProbe(probe, until)));
            }
            for (Future<JsonNode> answer : answers) {
                try {
                    answer.get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof ConditionTimeoutException timedOut) {
                        throw timedOut; // the probe's own report, as if it had been awaited here
                    }
                    throw e;
                }
            }
        }
    }

    private static Predicate<JsonNode> ok() {
        return probe -> probe.path("ok").asBoolean();
    }

    private static Predicate<JsonNode> failed() {
        return probe -> !probe.path("ok").asBoolean();
    }

    private CountersFile.Snapshot counters() throws Exception {
        return CountersFile.read(w.dir.resolve("data/node/counters"));
    }

    /**
     * The NAT gateway's metrics on the node, as {@code hyperplane stat --json} shows them (it prints
     * the counters file's snapshot so): CloudWatch's names, per NAT gateway id.
     */
    private JsonNode natMetrics() throws Exception {
        JsonNode metrics = JSON.valueToTree(counters()).path("natGateways").path(nat);
        assertThat(metrics.isObject()).as("the node counts for " + nat).isTrue();
        return metrics;
    }

    /**
     * The NAT gateway as {@code hyperplane nat-gateways --json} describes it: DescribeNatGateways'
     * fields, and the metrics the node's heartbeats carried (summed over the live nodes, here one).
     */
    private JsonNode natGatewayView() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = new CommandLine(new Main()).setOut(new PrintWriter(out, true, StandardCharsets.UTF_8)).execute("nat-gateways",
                "--endpoint", w.server.endpoint().toString(), "--credentials", w.server.credentialsFile().toString(), "--json");
        assertThat(exit).as("hyperplane nat-gateways").isZero();
        for (JsonNode described : JSON.readTree(out.toString(StandardCharsets.UTF_8)).path("NatGateways")) {
            if (described.path("NatGatewayId").asText().equals(nat)) {
                return described;
            }
        }
        throw new AssertionError(nat + " not in hyperplane nat-gateways: " + out.toString(StandardCharsets.UTF_8));
    }

    private Instance describe(Instance instance) {
        return ec2.describeInstances(b -> b.instanceIds(instance.instanceId())).reservations().getFirst().instances().getFirst();
    }

    @Test
    @Order(1)
    void shouldServeTheInternetFromAnInstanceWithAnElasticIpAndReachTheInternetBack() throws Exception {
        JsonNode served = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> fromInternet("http://" + instanceEip + ":8080/whoami"), ok());
        assertThat(served.path("peer").asText()).as("the instance sees the internet host itself: the gateway maps only its own side")
                .isEqualTo(Internet.HOST);
        assertThat(seen(whoami(publicInstance, 3))).as("the internet sees the instance's Elastic IP")
                .isEqualTo(instanceEip);

        assertThat(describe(publicInstance).publicIpAddress()).isEqualTo(instanceEip);
        Address address = ec2.describeAddresses(b -> b.allocationIds(instanceAllocation)).addresses().getFirst();
        assertThat(address.instanceId()).isEqualTo(publicInstance.instanceId());
        assertThat(address.privateIpAddress()).isEqualTo(publicInstance.privateIpAddress());
        assertThat(address.associationId()).isEqualTo(instanceAssociation);
        assertThat(ec2.describeInternetGateways(b -> b.internetGatewayIds(igw)).internetGateways().getFirst().attachments().getFirst().stateAsString())
                .isEqualTo("available");
    }

    @Test
    @Order(2)
    void shouldTakeAnInstanceAndAFunctionOfThePrivateSubnetOutThroughTheNatGatewaysElasticIp() throws Exception {
        NatGateway described = ec2.describeNatGateways(b -> b.natGatewayIds(nat)).natGateways().getFirst();
        assertThat(described.state()).isEqualTo(NatGatewayState.AVAILABLE);
        assertThat(described.connectivityType()).isEqualTo(ConnectivityType.PUBLIC);
        assertThat(described.subnetId()).isEqualTo(publicSubnet);
        NatGatewayAddress address = described.natGatewayAddresses().getFirst();
        assertThat(address.allocationId()).isEqualTo(natAllocation);
        assertThat(address.publicIp()).isEqualTo(natEip);
        assertThat(address.privateIp()).as("an address of its public subnet").startsWith("10.0.1.");

        JsonNode fromInstance = awaitProbe(() -> whoami(privateInstance, 3), ok());
        assertThat(seen(fromInstance)).as("the internet sees the NAT gateway's Elastic IP, not the instance").isEqualTo(natEip);
        JsonNode fromFunction = awaitProbe(() -> whoami("it-private", 3), ok());
        assertThat(seen(fromFunction)).as("a VPC function leaves through the NAT gateway too").isEqualTo(natEip);
    }

    @Test
    @Order(3)
    void shouldLetNothingOutWithoutARouteNorAFunctionFromThePublicSubnet() throws Exception {
        long noRoute = counters().get(Counter.DROP_NO_ROUTE);
        JsonNode fromPublicSubnet = whoami("it-public", 2);
        assertThat(fromPublicSubnet.path("ok").asBoolean()).as("a Lambda ENI has no public address: the internet gateway is no way out for it "
                + fromPublicSubnet).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(Counter.DROP_NO_ROUTE) > noRoute);

        ec2.deleteRoute(b -> b.routeTableId(privateTable).destinationCidrBlock("0.0.0.0/0"));
        w.server.syncFabric();
        awaitProbes(failed(), () -> whoami(privateInstance, 2), () -> whoami("it-private", 2));
        assertThat(whoami(privateInstance, 2).path("ok").asBoolean()).as("still nothing gets out").isFalse();

        ec2.createRoute(b -> b.routeTableId(privateTable).destinationCidrBlock("0.0.0.0/0").natGatewayId(nat));
        w.server.syncFabric();
        awaitProbe(() -> whoami(privateInstance, 3), ok());
        awaitProbe(() -> whoami("it-private", 3), ok());
    }

    @Test
    @Order(4)
    void shouldResolvePrivateNamesAndTheInternetsAtTheVpcsDnsUntilDnsSupportIsOff() throws Exception {
        String name = "ip-" + publicInstance.privateIpAddress().replace('.', '-') + ".ec2.internal";
        // Through resolv.conf, as a program would.
        assertThat(agent(privateInstance, "action", "resolve", "name", name).path("address").asText()).isEqualTo(publicInstance.privateIpAddress());
        assertThat(agent(privateInstance, "action", "resolve", "name", Internet.WHOAMI_NAME).path("address").asText()).isEqualTo(Internet.HOST);
        assertThat(invoke("it-private", "action", "resolve", "name", name).path("address").asText()).isEqualTo(publicInstance.privateIpAddress());
        assertThat(invoke("it-private", "action", "resolve", "name", Internet.WHOAMI_NAME).path("address").asText()).isEqualTo(Internet.HOST);
        // Straight to AmazonProvidedDNS at base + 2.
        assertThat(agent(privateInstance, "action", "dns", "server", VPC_DNS, "name", name).path("addresses").path(0).asText())
                .isEqualTo(publicInstance.privateIpAddress());

        ec2.modifyVpcAttribute(b -> b.vpcId(vpc).enableDnsSupport(v -> v.value(false)));
        w.server.syncFabric();
        assertThat(ec2.describeVpcAttribute(b -> b.vpcId(vpc).attribute(VpcAttributeName.ENABLE_DNS_SUPPORT)).enableDnsSupport().value()).isFalse();
        for (String asked : List.of(name, Internet.WHOAMI_NAME)) {
            awaitProbes(failed(), () -> agent(privateInstance, "action", "dns", "server", VPC_DNS, "name", asked),
                    () -> invoke("it-private", "action", "dns", "server", VPC_DNS, "name", asked));
        }

        ec2.modifyVpcAttribute(b -> b.vpcId(vpc).enableDnsSupport(v -> v.value(true)));
        w.server.syncFabric();
        awaitProbe(() -> agent(privateInstance, "action", "dns", "server", VPC_DNS, "name", name), ok());
    }

    @Test
    @Order(5)
    void shouldTakeAFunctionWithoutAVpcConfigToTheInternetFromTheServicesEgressAndNowhereElse() throws Exception {
        JsonNode out = awaitProbe(() -> whoami("it-egress", 3), ok());
        assertThat(seen(out)).isEqualTo(Internet.SERVICE_EGRESS_ADDRESS);
        // A public address is the internet: the instance behind its Elastic IP sees the service's egress address.
        JsonNode viaElasticIp = invoke("it-egress", "action", "fetch", "url", "http://" + instanceEip + ":8080/whoami");
        assertThat(viaElasticIp.path("ok").asBoolean()).as(viaElasticIp.toString()).isTrue();
        assertThat(JSON.readTree(viaElasticIp.path("body").asText()).path("peer").asText()).isEqualTo(Internet.SERVICE_EGRESS_ADDRESS);
        String privateAddress = "http://" + publicInstance.privateIpAddress() + ":8080/whoami";
        JsonNode intoTheVpc = invoke("it-egress", "action", "fetch", "url", privateAddress, "timeout", "2");
        assertThat(intoTheVpc.path("ok").asBoolean()).as("no VPC address, even one its security group admits " + intoTheVpc).isFalse();
    }

    @Test
    @Order(6)
    void shouldRefuseTheConnectionPastTheNatGatewaysLimitPerDestinationAndTimeIdleOnesOut() throws Exception {
        JsonNode before = natMetrics();
        JsonNode described = natGatewayView();
        assertThat(described.path("State").asText()).isEqualTo("available");
        assertThat(described.path("NatGatewayAddresses").path(0).path("PublicIp").asText()).isEqualTo(natEip);
        assertThat(described.path("MetricsByNode").size()).as("the one node reports it").isEqualTo(1);
        JsonNode describedBefore = described.path("Metrics");
        JsonNode held = agent(privateInstance, "action", "hold", "host", Internet.HOST, "port", Integer.toString(ECHO_PORT),
                "count", Integer.toString(NAT_LIMIT + 1), "timeout", "1");
        try {
            assertThat(held.path("connected").asInt()).as(held.toString()).isEqualTo(NAT_LIMIT);
            assertThat(held.path("failed").asInt()).as("the one past the limit").isEqualTo(1);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                JsonNode now = natMetrics();
                assertThat(now.path(ERROR_PORT_ALLOCATION).asLong()).as(ERROR_PORT_ALLOCATION).isGreaterThan(before.path(ERROR_PORT_ALLOCATION).asLong());
                assertThat(now.path(ACTIVE_CONNECTION_COUNT).asLong()).as(ACTIVE_CONNECTION_COUNT).isGreaterThanOrEqualTo(NAT_LIMIT);
                // The same counts reach the control plane with the node's next heartbeat (no more refusals come meanwhile).
                JsonNode reported = natGatewayView().path("Metrics");
                assertThat(reported.path(ERROR_PORT_ALLOCATION).asLong()).as(ERROR_PORT_ALLOCATION + " in hyperplane nat-gateways")
                        .isEqualTo(now.path(ERROR_PORT_ALLOCATION).asLong()).isGreaterThan(describedBefore.path(ERROR_PORT_ALLOCATION).asLong());
                assertThat(reported.path(ACTIVE_CONNECTION_COUNT).asLong()).as(ACTIVE_CONNECTION_COUNT + " in hyperplane nat-gateways")
                        .isGreaterThanOrEqualTo(NAT_LIMIT);
            });
            // Left without traffic, every held connection times out at the NAT gateway.
            await().atMost(Duration.ofSeconds(NAT_IDLE_SECONDS * 4L)).untilAsserted(() -> assertThat(natMetrics().path(IDLE_TIMEOUT_COUNT).asLong()
                    - before.path(IDLE_TIMEOUT_COUNT).asLong()).as(IDLE_TIMEOUT_COUNT).isGreaterThanOrEqualTo(NAT_LIMIT));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                long counted = natMetrics().path(IDLE_TIMEOUT_COUNT).asLong();
                JsonNode reported = natGatewayView().path("Metrics");
                assertThat(reported.path(IDLE_TIMEOUT_COUNT).asLong()).as(IDLE_TIMEOUT_COUNT + " in hyperplane nat-gateways").isEqualTo(counted);
                assertThat(reported.path(IDLE_TIMEOUT_COUNT).asLong() - describedBefore.path(IDLE_TIMEOUT_COUNT).asLong()).isGreaterThanOrEqualTo(NAT_LIMIT);
            });
        } finally {
            agent(privateInstance, "action", "release");
        }
        JsonNode fresh = agent(privateInstance, "action", "hold", "host", Internet.HOST, "port", Integer.toString(ECHO_PORT), "count", "1");
        agent(privateInstance, "action", "release");
        assertThat(fresh.path("connected").asInt()).as("timed-out connections gave their ports back " + fresh).isEqualTo(1);
    }

    @Test
    @Order(7)
    void shouldRefuseDeletionsInTheWrongOrderAsAwsDoesAndLeaveNoNamespaceAfterTheRightOne() throws Exception {
        assertThat(errorOf(() -> ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc))))
                .as("addresses are mapped through it").isEqualTo("DependencyViolation");
        assertThat(errorOf(() -> ec2.deleteInternetGateway(b -> b.internetGatewayId(igw)))).as("still attached").isEqualTo("DependencyViolation");
        assertThat(errorOf(() -> ec2.releaseAddress(b -> b.allocationId(instanceAllocation)))).as("associated").isEqualTo("InvalidIPAddress.InUse");
        assertThat(errorOf(() -> ec2.deleteSubnet(b -> b.subnetId(publicSubnet)))).as("the NAT gateway and an instance are in it")
                .isEqualTo("DependencyViolation");
        assertThat(errorOf(() -> ec2.deleteVpc(b -> b.vpcId(vpc)))).isEqualTo("DependencyViolation");

        ec2.disassociateAddress(b -> b.associationId(instanceAssociation));
        ec2.terminateInstances(b -> b.instanceIds(publicInstance.instanceId(), privateInstance.instanceId()));
        ec2.deleteNatGateway(b -> b.natGatewayId(nat));
        for (String f : List.of("it-private", "it-public", "it-egress")) {
            w.lambda.deleteFunction(b -> b.functionName(f));
        }
        assertThat(ec2.describeNatGateways(b -> b.natGatewayIds(nat)).natGateways().getFirst().state())
                .isIn(NatGatewayState.DELETING, NatGatewayState.DELETED);
        CompletableFuture<?> terminated = CompletableFuture.runAsync(() -> ec2.waiter()
                .waitUntilInstanceTerminated(b -> b.instanceIds(publicInstance.instanceId(), privateInstance.instanceId()), quickly()));
        ec2.waiter().waitUntilNatGatewayDeleted(b -> b.natGatewayIds(nat), quickly());
        terminated.join();
        // The functions' Hyperplane ENIs go after their grace period.
        await().atMost(Duration.ofSeconds(60)).until(() -> ec2.describeNetworkInterfaces(b -> b.filters(f -> f.name("vpc-id").values(vpc)))
                .networkInterfaces().isEmpty());
        ec2.releaseAddress(b -> b.allocationId(instanceAllocation));
        ec2.releaseAddress(b -> b.allocationId(natAllocation));
        assertThat(ec2.describeAddresses().addresses()).isEmpty();
        ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        ec2.deleteInternetGateway(b -> b.internetGatewayId(igw));
        for (String subnet : List.of(publicSubnet, privateSubnet)) {
            ec2.deleteSubnet(b -> b.subnetId(subnet));
        }
        for (String table : List.of(publicTable, privateTable)) {
            ec2.deleteRouteTable(b -> b.routeTableId(table));
        }
        for (String group : List.of(agents, functions)) {
            ec2.deleteSecurityGroup(b -> b.groupId(group));
        }
        ec2.deleteVpc(b -> b.vpcId(vpc));
        w.server.syncFabric();
        assertThat(Namespaces.list()).as("nothing of the VPC, its gateways or its instances is left")
                .noneMatch(n -> n.contains(vpc) || n.contains(igw) || n.contains(nat)
                        || n.contains(publicInstance.instanceId()) || n.contains(privateInstance.instanceId()));
        assertThat(catchThrowableOfType(ResourceNotFoundException.class, () -> w.lambda.getFunction(b -> b.functionName("it-private")))).isNotNull();
    }

    /** The EC2 error code {@code call} fails with. */
    private static String errorOf(Runnable call) {
        Ec2Exception e = catchThrowableOfType(Ec2Exception.class, call::run);
        assertThat(e).as("refused").isNotNull();
        return e.awsErrorDetails().errorCode();
    }
}
