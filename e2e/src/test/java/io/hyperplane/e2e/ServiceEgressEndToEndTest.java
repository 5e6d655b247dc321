package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.LastUpdateStatus;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 16, point 4: a function without a VpcConfig reaches the simulated internet through the
 * service-owned egress (its environment tunnelled to the node like a VPC one, bound to the egress
 * ENI), is seen there as the egress address, resolves the internet's names through the service's
 * resolver, and reaches nothing else: no VPC (one whose group admits everyone included), no
 * underlay address, no environment, no link-local metadata address. Detaching a function from its
 * VPC moves it there; attaching it takes that way away.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(900)
class ServiceEgressEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "hp-eg-";
    private static final String WORKER = "eg";
    /**
     * Reports its own address, its resolv.conf, what the internet host saw and its name resolved to,
     * and how each probe's connection ended ("connected", "timeout": dropped on the way, or the
     * error's name: refused means the packet arrived). The checks run at once: a drop costs its
     * full timeout, and one after another they would add up.
     */
    static final String PYTHON_APP = """
            import json, socket, urllib.request
            from concurrent.futures import ThreadPoolExecutor

            def failure(e):
                reason = getattr(e, "reason", e)
                return "timeout" if isinstance(reason, TimeoutError) else type(reason).__name__

            def whoami():
                try:
                    with urllib.request.urlopen("http://203.0.113.10/whoami", timeout=5) as r:
                        return r.read().decode()
                except Exception as e:
                    return failure(e)

            def resolved():
                try:
                    return socket.gethostbyname("whoami.internet.test")
                except Exception as e:
                    return failure(e)

            def connection(host, port):
                try:
                    socket.create_connection((host, port), timeout=2).close()
                    return "connected"
                except Exception as e:
                    return failure(e)

            def handler(event, context):
                out = {}
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probe.connect(("203.0.113.10", 9))
                out["ownAddress"] = probe.getsockname()[0]
                probe.close()
                with open("/etc/resolv.conf") as f:
                    out["resolvConf"] = f.read()
                probes = event.get("probes", {})
                with ThreadPoolExecutor(max_workers=len(probes) + 2) as checks:
                    running = {name: checks.submit(connection, host, port) for name, (host, port) in probes.items()}
                    if event.get("internet"):
                        running["whoami"] = checks.submit(whoami)
                        running["resolved"] = checks.submit(resolved)
                    for name, check in running.items():
                        out[name] = check.result()
                return out
            """;

    private RuntimeWorld w;
    /** An instance in a second VPC, 192.168.0.0/16, whose group admits everyone on 8080. */
    private Instance open;

    @BeforeAll
    void start() throws Exception {
        w = new RuntimeWorld(PREFIX, WORKER, "shared");
        w.buildVpc("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24");
        open = openInstance();
        w.lambda.createFunction(b -> b.functionName("egress").role(w.role).runtime("python3.12").handler("app.handler").timeout(60)
                .memorySize(128).code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", PYTHON_APP))))));
        w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("egress"), AwsClients.promptly());
        w.createFunction("mover", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", PYTHON_APP)), List.of(w.subnetA), 60, 128);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .until(() -> probe("mover", false, Map.of("db", List.of(w.db.privateIpAddress(), 8080))).path("db").asText().equals("connected"));
    }

    /** A VPC of its own with an instance serving /whoami on 8080 to anyone: what the egress must still not reach. */
    private Instance openInstance() {
        String vpc = w.ec2.createVpc(b -> b.cidrBlock("192.168.0.0/16")).vpc().vpcId();
        String subnet = w.ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("192.168.1.0/24")).subnet().subnetId();
        String group = w.ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("open").description("open to all")).groupId();
        w.ec2.authorizeSecurityGroupIngress(b -> b.groupId(group).ipPermissions(p -> p.ipProtocol("tcp").fromPort(8080).toPort(8080)
                .ipRanges(r -> r.cidrIp("0.0.0.0/0"))));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nexec " + java + " -Xmx96m -cp " + System.getProperty("java.class.path") + " "
                + ServiceHostMain.class.getName() + " --http 8080\n";
        Instance instance = w.ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(group)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        await().atMost(Duration.ofSeconds(60)).until(() -> w.ec2.describeInstances(b -> b.instanceIds(instance.instanceId())).reservations()
                .getFirst().instances().getFirst().state().nameAsString().equals("running"));
        return instance;
    }

    @AfterAll
    void stop() {
        if (w != null) {
            w.close();
        }
        assertThat(Namespaces.list()).as("no namespace of this test is left").noneMatch(n -> n.startsWith(PREFIX) || n.startsWith("hp-ee-" + WORKER + "-"));
    }

    private JsonNode probe(String function, boolean internet, Map<String, List<Object>> probes) throws Exception {
        ObjectNode event = JSON.createObjectNode().put("internet", internet);
        event.set("probes", JSON.valueToTree(probes));
        InvokeResponse r = w.invoke(function, event.toString());
        assertThat(r.functionError()).as(r.payload().asUtf8String() + "\n" + RuntimeWorld.log(r)).isNull();
        return JSON.readTree(r.payload().asUtf8String());
    }

    /** The environment the node runs for the address a function saw as its own. */
    private NodeSnapshot.ExecutionEnvironment environmentAt(String address) {
        return w.server.nodeConfig().current().snapshot().executionEnvironments().stream().filter(ee -> ee.ip().equals(address))
                .findFirst().orElseThrow(() -> new AssertionError("no environment at " + address + " in the node's configuration"));
    }

    /** Everything but the internet: a VPC instance, an instance open to all in another VPC, the underlay, an environment, metadata. */
    private Map<String, List<Object>> forbidden(String environment) {
        return Map.of(
                "vpcInstance", List.of(w.db.privateIpAddress(), 8080),
                "openVpcInstance", List.of(open.privateIpAddress(), 8080),
                "underlayNode", List.of(LocalCloud.NODE_IP, 4789),
                "underlayWorker", List.of(LocalCloud.WORKER_IP, 22),
                "environment", List.of(environment, 9001),
                "metadata", List.of("169.254.169.254", 80));
    }

    /** A drop is silent: the function's connection times out (never refused: that would mean the packet arrived). */
    private static void assertAllDropped(JsonNode out, Map<String, List<Object>> probes) {
        for (String name : probes.keySet()) {
            assertThat(out.path(name).asText()).as("%s %s: %s", name, probes.get(name), out).isEqualTo("timeout");
        }
    }

    @Test
    @Order(1)
    void shouldTunnelAFunctionWithoutAVpcToTheNodeBoundToTheServiceEgressWithTheServicesResolver() throws Exception {
        JsonNode out = probe("egress", false, Map.of());

        NodeSnapshot.ExecutionEnvironment ee = environmentAt(out.path("ownAddress").asText());
        assertThat(ee.eniId()).isEqualTo(Internet.SERVICE_EGRESS_ENI_ID);
        assertThat(ee.host()).as("tunnelled from the worker host").isEqualTo(LocalCloud.WORKER_IP);
        NodeSnapshot snapshot = w.server.nodeConfig().current().snapshot();
        assertThat(snapshot.enis()).filteredOn(NodeSnapshot.Eni::serviceEgress).singleElement()
                .satisfies(eni -> assertThat(eni.ip()).isEqualTo(Internet.SERVICE_EGRESS_ADDRESS));
        assertThat(out.path("resolvConf").asText()).isEqualTo("nameserver " + Internet.SERVICE_RESOLVER + "\n");
    }

    @Test
    @Order(2)
    void shouldReachTheInternetHostAsTheEgressAddressAndResolveItsName() throws Exception {
        JsonNode out = probe("egress", true, Map.of());

        assertThat(out.path("whoami").asText()).as("the internet sees the service's egress address: %s", out)
                .startsWith(Internet.SERVICE_EGRESS_ADDRESS + ":");
        assertThat(out.path("resolved").asText()).as("through the service's resolver: %s", out).isEqualTo(Internet.HOST);
    }

    @Test
    @Order(3)
    void shouldReachNoVpcNoUnderlayNoEnvironmentAndNoMetadataAddress() throws Exception {
        String other = probe("mover", false, Map.of()).path("ownAddress").asText(); // a VPC function's environment
        Map<String, List<Object>> probes = forbidden(other);

        assertAllDropped(probe("egress", false, probes), probes);
    }

    @Test
    @Order(4)
    void shouldMoveADetachedFunctionToTheEgressAndTakeTheWayAwayWhenItIsAttachedAgain() throws Exception {
        String vpcEni = environmentAt(probe("mover", false, Map.of()).path("ownAddress").asText()).eniId();
        JsonNode inVpc = probe("mover", true, Map.of("db", List.of(w.db.privateIpAddress(), 8080)));
        assertThat(inVpc.path("db").asText()).isEqualTo("connected");
        assertThat(inVpc.path("whoami").asText()).as("a Lambda ENI without a NAT gateway has no way out").isEqualTo("timeout");
        assertThat(inVpc.path("resolvConf").asText()).as("AmazonProvidedDNS: the VPC's base + 2").isEqualTo("nameserver 10.0.0.2\n");

        w.lambda.updateFunctionConfiguration(b -> b.functionName("mover").vpcConfig(v -> v.subnetIds(List.of()).securityGroupIds(List.of())));
        awaitUpdated("mover");
        JsonNode detached = probe("mover", true, Map.of("db", List.of(w.db.privateIpAddress(), 8080)));
        assertThat(environmentAt(detached.path("ownAddress").asText()).eniId()).as("its new environment").isEqualTo(Internet.SERVICE_EGRESS_ENI_ID);
        assertThat(detached.path("db").asText()).as("its old VPC is out of reach").isEqualTo("timeout");
        assertThat(detached.path("resolvConf").asText()).isEqualTo("nameserver " + Internet.SERVICE_RESOLVER + "\n");
        assertThat(detached.path("whoami").asText()).as("%s", detached).startsWith(Internet.SERVICE_EGRESS_ADDRESS + ":");

        w.lambda.updateFunctionConfiguration(b -> b.functionName("mover").vpcConfig(v -> v.subnetIds(w.subnetA).securityGroupIds(w.fnGroup)));
        awaitUpdated("mover");
        JsonNode attached = probe("mover", true, Map.of("db", List.of(w.db.privateIpAddress(), 8080)));
        assertThat(environmentAt(attached.path("ownAddress").asText()).eniId()).isEqualTo(vpcEni);
        assertThat(attached.path("db").asText()).isEqualTo("connected");
        assertThat(attached.path("whoami").asText()).as("the way out is gone").isEqualTo("timeout");
    }

    private void awaitUpdated(String function) {
        w.lambda.waiter().waitUntilFunctionUpdatedV2(b -> b.functionName(function), AwsClients.promptly());
        assertThat(w.lambda.getFunctionConfiguration(b -> b.functionName(function)).lastUpdateStatus()).isEqualTo(LastUpdateStatus.SUCCESSFUL);
    }
}
