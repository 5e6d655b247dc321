package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.auth.Credential;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;

import java.nio.charset.StandardCharsets;
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
@Timeout(600)
class OverlappingVpcsEndToEndTest {
    private static final String PREFIX = "hp-ov-";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String APP = """
            import json, urllib.request
            def handler(event, context):
                target = event["target"]
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
            t.account().lambda().waiter().waitUntilFunctionActiveV2(b -> b.functionName(t.function()));
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
        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey()));
        Ec2Client ec2 = Ec2Client.builder().endpointOverride(w.server.endpoint()).region(Region.US_EAST_1).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
        IamClient iam = IamClient.builder().endpointOverride(w.server.endpoint()).region(Region.AWS_GLOBAL).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
        LambdaClient lambda = LambdaClient.builder().endpointOverride(w.server.endpoint()).region(Region.US_EAST_1).credentialsProvider(credentials)
                .overrideConfiguration(o -> o.retryStrategy(software.amazon.awssdk.retries.DefaultRetryStrategy.doNotRetry())
                        .apiCallTimeout(Duration.ofSeconds(60)))
                .httpClient(UrlConnectionHttpClient.builder().socketTimeout(Duration.ofSeconds(60)).build()).build();
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

    @Test
    void shouldCarryEachTenantToItsOwnInstanceAtTheSameAddressesBeforeAndAfterARestart() throws Exception {
        assertThat(tenants).extracting(t -> t.instance().privateIpAddress()).containsOnly(tenants.getFirst().instance().privateIpAddress());
        assertThat(tenants).extracting(OverlappingVpcsEndToEndTest::eniAddress).containsOnly(eniAddress(tenants.getFirst()));
        assertThat(tenants.stream().map(Tenant::vpc).distinct()).hasSize(3);
        assertEveryFunctionReachesOnlyItsOwnInstance();

        w.cloud.restartServer();
        assertEveryFunctionReachesOnlyItsOwnInstance();
    }
}
