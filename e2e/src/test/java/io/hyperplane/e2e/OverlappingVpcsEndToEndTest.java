package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.node.CountersFile;
import io.hyperplane.sigv4.Credential;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 13's first test, for real: three VPCs in two accounts, all 10.0.0.0/16 with a subnet
 * 10.0.1.0/24, each with an instance and a function's ENI at the same addresses. Every function
 * reaches its own VPC's instance and only that one (each instance says which VPC it is in), every
 * instance sees its own ENI's address; after a restart of the control plane, the same holds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(600)
class OverlappingVpcsEndToEndTest {
    private static final String PREFIX = "hp-ov-";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String APP = """
            import json, socket, struct, urllib.request
            def handler(event, context):
                target = event["target"]
                if event.get("action") == "inject":
                    # Crafted VXLAN (flags, VNI) toward every underlay address, and plain UDP there too.
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    sent = 0
                    for address in event["underlay"]:
                        for vni in event["vnis"]:
                            s.sendto(struct.pack("!II", 0x08000000, vni << 8) + bytes(64), (address, 4789))
                            sent += 1
                        s.sendto(b"hello underlay", (address, 9))
                        sent += 1
                    return {"sent": sent}
                if event.get("action") == "flood":
                    # One flow per destination port: past the environment's quota of open flows.
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    for port in range(event["from"], event["to"]):
                        s.sendto(b"x", (target, port))
                    return {"sent": event["to"] - event["from"]}
                seen = urllib.request.urlopen("http://" + target + ":8080/whoami", timeout=5).read().decode()
                name = urllib.request.urlopen("http://" + target + ":8081/who", timeout=5).read().decode()
                return {"seen": seen, "name": name}
            """;

    private RuntimeWorld w;
    private final List<Tenant> tenants = new ArrayList<>();
    private final List<AutoCloseable> clients = new ArrayList<>();

    /** One account's SDK clients. */
    private record Account(Ec2Client ec2, IamClient iam, LambdaClient lambda, String role) {
    }

    /** One VPC: its instance (serving /whoami on 8080 and its own VPC id on 8081) and its function. */
    private record Tenant(Account account, String vpc, String function, Instance instance) {
    }

    @BeforeAll
    void start() throws Exception {
        w = new RuntimeWorld(PREFIX, "ov", "shared");
        Account first = new Account(w.ec2, w.iam, w.lambda, role(w.iam));
        Account second = account(w.server.accounts().create());
        List<Account> owners = List.of(first, first, second);
        for (int i = 0; i < owners.size(); i++) {
            tenants.add(tenant(owners.get(i), i));
        }
        for (Tenant t : tenants) {
            await().atMost(Duration.ofSeconds(90)).until(() -> state(t).equals("running"));
        }
        for (Tenant t : tenants) {
            t.account().lambda().waiter().waitUntilFunctionActiveV2(b -> b.functionName(t.function()), AwsClients.promptly());
        }
    }

    @AfterAll
    void stop() {
        for (AutoCloseable c : clients) {
            try {
                c.close();
            } catch (Exception e) {
                System.out.println("closing: " + e.getMessage());
            }
        }
        if (w != null) {
            w.close();
        }
        assertThat(Namespaces.list()).as("no namespace of this test is left").noneMatch(n -> n.startsWith(PREFIX) || n.startsWith("hp-ee-ov-"));
    }

    private Account account(Credential c) {
        StaticCredentialsProvider credentials = AwsClients.credentials(c);
        Ec2Client ec2 = AwsClients.ec2(w.server.endpoint(), credentials);
        IamClient iam = AwsClients.iam(w.server.endpoint(), credentials);
        LambdaClient lambda = AwsClients.patientLambda(w.server.endpoint(), credentials, Duration.ofSeconds(60));
        clients.addAll(List.of(ec2, iam, lambda));
        return new Account(ec2, iam, lambda, role(iam));
    }

    private static String role(IamClient iam) {
        String arn = iam.createRole(b -> b.roleName("ov-role").assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
        iam.attachRolePolicy(b -> b.roleName("ov-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        return arn;
    }

    private Tenant tenant(Account a, int n) {
        Ec2Client ec2 = a.ec2();
        String vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
        String subnet = ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24")).subnet().subnetId();
        String fnGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("functions").description("functions")).groupId();
        String dbGroup = ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName("db").description("db")).groupId();
        ec2.authorizeSecurityGroupIngress(b -> b.groupId(dbGroup).ipPermissions(p -> p.ipProtocol("tcp").fromPort(8080).toPort(8081)
                .userIdGroupPairs(g -> g.groupId(fnGroup))));
        String java = ProcessHandle.current().info().command().orElseThrow();
        String userData = "#!/bin/sh\nmkdir -p /tmp/who && printf %s " + vpc + " > /tmp/who/who\n"
                + "cd /tmp/who && python3 -m http.server 8081 &\n"
                + "exec " + java + " -Xmx64m -cp " + System.getProperty("java.class.path") + " " + ServiceHostMain.class.getName() + " --http 8080\n";
        Instance instance = ec2.runInstances(b -> b.imageId("ami-hyperplane").minCount(1).maxCount(1).subnetId(subnet).securityGroupIds(dbGroup)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst();
        String function = "ov" + n;
        a.lambda().createFunction(b -> b.functionName(function).role(a.role()).runtime("python3.12").handler("app.handler").timeout(15)
                .memorySize(128).code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", APP)))))
                .vpcConfig(v -> v.subnetIds(subnet).securityGroupIds(fnGroup)));
        return new Tenant(a, vpc, function, instance);
    }

    private static String state(Tenant t) {
        return t.account().ec2().describeInstances(b -> b.instanceIds(t.instance().instanceId())).reservations().getFirst()
                .instances().getFirst().state().nameAsString();
    }

    private static String eniAddress(Tenant t) {
        return t.account().ec2().describeNetworkInterfaces(b -> b.filters(f -> f.name("vpc-id").values(t.vpc())))
                .networkInterfaces().getFirst().privateIpAddress();
    }

    private static JsonNode reach(Tenant t) throws Exception {
        InvokeResponse r = t.account().lambda().invoke(b -> b.functionName(t.function())
                .payload(SdkBytes.fromUtf8String("{\"target\":\"" + t.instance().privateIpAddress() + "\"}")));
        if (r.functionError() != null) { // e.g. the instance not answering yet: awaited again
            throw new IllegalStateException(t.function() + ": " + r.payload().asUtf8String());
        }
        return JSON.readTree(r.payload().asUtf8String());
    }

    /** Each function reaches the instance of its own VPC, which sees the function's ENI. */
    private void assertEveryFunctionReachesOnlyItsOwnInstance() throws Exception {
        for (Tenant t : tenants) {
            JsonNode seen = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                    .until(() -> reach(t), r -> true);
            assertThat(seen.path("name").asText()).as("%s reached the instance of its own VPC", t.function()).isEqualTo(t.vpc());
            assertThat(seen.path("seen").asText()).as("the instance sees its own ENI").startsWith(eniAddress(t) + ":");
        }
    }

    private long nodeCounter(Counter counter) throws Exception {
        return CountersFile.read(w.dir.resolve("data/node/counters")).get(counter);
    }

    private JsonNode call(Tenant t, String event) throws Exception {
        InvokeResponse r = t.account().lambda().invoke(b -> b.functionName(t.function()).payload(SdkBytes.fromUtf8String(event)));
        assertThat(r.functionError()).as(r.payload().asUtf8String()).isNull();
        return JSON.readTree(r.payload().asUtf8String());
    }

    /**
     * The underlay is sealed from functions too: crafted VXLAN and plain datagrams from a function
     * toward the forwarder node, the worker host, every VPC's VTEP and the environments' gateway
     * leave its environment only through the node, which drops and counts every one. (Another
     * environment's address is on the environment's own link: its ARP is never answered, so
     * nothing is even sent there.)
     */
    @Test
    @Order(2)
    void shouldDropWhatAFunctionSendsTowardTheUnderlayAndCountIt() throws Exception {
        List<String> underlay = new ArrayList<>(List.of(LocalCloud.NODE_IP, LocalCloud.WORKER_IP, "100.64.0.1"));
        try (Connection c = DriverManager.getConnection(w.cloud.server().databaseUrl(), "sa", "");
             ResultSet r = c.createStatement().executeQuery("SELECT vtep_ip FROM vpcs")) {
            while (r.next()) {
                underlay.add(r.getString(1));
            }
        }
        assertThat(underlay).hasSize(6); // three VPCs, three VTEPs
        long before = nodeCounter(Counter.DROP_RESERVED_DESTINATION);
        Tenant attacker = tenants.get(2);
        int sent = call(attacker, "{\"action\":\"inject\",\"target\":\"\",\"underlay\":" + JSON.writeValueAsString(underlay)
                + ",\"vnis\":[1,4096,16777215]}").path("sent").asInt();
        assertThat(sent).isEqualTo(underlay.size() * 4);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(nodeCounter(Counter.DROP_RESERVED_DESTINATION) - before)
                .as("dropped at the node, of %d sent toward %s", sent, underlay).isEqualTo(sent));
        assertEveryFunctionReachesOnlyItsOwnInstance();
    }

    /** One function past its quota of open flows is stopped there; another tenant's new connections work. */
    @Test
    @Order(3) // last: the greedy function's flows hold its quota for their 30 s
    void shouldStopAFunctionAtItsFlowQuotaAndLeaveTheOthersWorking() throws Exception {
        long before = nodeCounter(Counter.DROP_FLOW_QUOTA);
        Tenant greedy = tenants.get(0);
        call(greedy, "{\"action\":\"flood\",\"target\":\"" + greedy.instance().privateIpAddress() + "\",\"from\":20000,\"to\":25000}");
        await().atMost(Duration.ofSeconds(5)).until(() -> nodeCounter(Counter.DROP_FLOW_QUOTA) - before > 0);
        JsonNode other = reach(tenants.get(2));
        assertThat(other.path("name").asText()).isEqualTo(tenants.get(2).vpc());
    }

    @Test
    @Order(1)
    void shouldCarryEachTenantToItsOwnInstanceAtTheSameAddressesBeforeAndAfterARestart() throws Exception {
        assertThat(tenants).extracting(t -> t.instance().privateIpAddress()).containsOnly(tenants.getFirst().instance().privateIpAddress());
        assertThat(tenants).extracting(OverlappingVpcsEndToEndTest::eniAddress).containsOnly(eniAddress(tenants.getFirst()));
        assertThat(tenants.stream().map(Tenant::vpc).distinct()).hasSize(3);
        assertEveryFunctionReachesOnlyItsOwnInstance();

        w.cloud.restartServer();
        assertEveryFunctionReachesOnlyItsOwnInstance();
    }
}
