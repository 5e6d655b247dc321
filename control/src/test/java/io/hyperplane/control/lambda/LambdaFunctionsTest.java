package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.NetworkInterface;
import software.amazon.awssdk.services.lambda.model.FunctionConfiguration;
import software.amazon.awssdk.services.lambda.model.GetFunctionConfigurationResponse;
import software.amazon.awssdk.services.lambda.model.LambdaException;
import software.amazon.awssdk.services.lambda.model.LastUpdateStatus;
import software.amazon.awssdk.services.lambda.model.State;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * The Lambda API through the AWS SDK's LambdaClient, and the ENI reconciler behind it: sharing,
 * addresses, function states with every failure reason, updates, versions, deletion, concurrency,
 * EphemeralStorage and reserved environment variable names.
 * No forwarder node is registered here, so an ENI is programmed as soon as it is published
 * (every live node — none — has it); {@link NodeProgrammingTest} covers nodes.
 */
@Timeout(120)
class LambdaFunctionsTest {
    private static final int QUOTA = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RESERVED_KEYS = "Lambda was unable to configure your environment variables because the environment variables"
            + " you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ";

    @TempDir
    Path dir;
    private LambdaWorld w;
    private String vpc;
    private String subnetA;
    private String subnetB;
    private String fnGroup;
    private String role;

    @BeforeEach
    void start() throws Exception {
        ControlPlaneServer server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniQuotaPerVpc(QUOTA).withEniGrace(Duration.ofSeconds(1))));
        w = new LambdaWorld(server);
        vpc = w.vpc("10.0.0.0/16");
        subnetA = w.subnet(vpc, "10.0.1.0/24");
        subnetB = w.subnet(vpc, "10.0.2.0/24");
        fnGroup = w.group(vpc, "functions");
        role = w.vpcRole("fn-role");
    }

    @AfterEach
    void stop() {
        w.close();
    }

    private GetFunctionConfigurationResponse awaitState(String name, State state) {
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration(name).state() == state);
        return w.configuration(name);
    }

    private GetFunctionConfigurationResponse awaitUpdate(String name, LastUpdateStatus status) {
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration(name).lastUpdateStatus() == status);
        return w.configuration(name);
    }

    private LambdaException error(Runnable call) {
        LambdaException e = catchThrowableOfType(LambdaException.class, call::run);
        assertThat(e).as("the call should have failed").isNotNull();
        return e;
    }

    @Test
    void shouldGoFromPendingToActiveOnOneEniSharedByEveryFunctionWithTheSameSubnetAndGroups() {
        String other = w.group(vpc, "other");
        var created = w.create("fn1", role, List.of(subnetA), List.of(fnGroup, other));
        assertThat(created.state()).isEqualTo(State.PENDING);
        assertThat(created.stateReasonCodeAsString()).isEqualTo("Creating");
        assertThat(created.stateReason()).isEqualTo("The function is being created.");
        assertThat(created.vpcConfig().vpcId()).as("derived from the subnets").isEqualTo(vpc);
        assertThat(created.functionArn()).isEqualTo("arn:aws:lambda:us-east-1:" + w.account() + ":function:fn1");

        w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("fn1"));
        List<NetworkInterface> enis = w.enis();
        assertThat(enis).hasSize(1);
        NetworkInterface eni = enis.getFirst();
        assertThat(eni.interfaceTypeAsString()).isEqualTo("lambda");
        assertThat(eni.requesterManaged()).isTrue();
        assertThat(eni.subnetId()).isEqualTo(subnetA);
        assertThat(eni.vpcId()).isEqualTo(vpc);
        assertThat(eni.groups()).extracting(g -> g.groupId()).containsExactlyInAnyOrder(fnGroup, other);
        assertThat(eni.privateIpAddress()).as("the first address AWS does not reserve").isEqualTo("10.0.1.4");
        assertThat(eni.statusAsString()).isEqualTo("in-use");
        assertThat(eni.description()).startsWith("AWS Lambda VPC ENI-fn1-");

        // The same subnet and the same set of groups, listed in another order: the same ENI.
        w.create("fn2", role, List.of(subnetA), List.of(other, fnGroup));
        awaitState("fn2", State.ACTIVE);
        assertThat(w.enis()).hasSize(1);
        assertThat(w.functionsOn(eni.networkInterfaceId())).containsExactly("fn1:$LATEST", "fn2:$LATEST");

        // Two subnets: two ENIs, one of them shared.
        w.create("fn3", role, List.of(subnetA, subnetB), List.of(fnGroup, other));
        awaitState("fn3", State.ACTIVE);
        assertThat(w.enis()).extracting(NetworkInterface::subnetId).containsExactlyInAnyOrder(subnetA, subnetB);

        // Another group set in the same subnet: another ENI, with another address.
        w.create("fn4", role, List.of(subnetA), List.of(fnGroup));
        awaitState("fn4", State.ACTIVE);
        assertThat(w.enis()).hasSize(3).extracting(NetworkInterface::privateIpAddress).doesNotHaveDuplicates();
        assertThat(w.lambda.listFunctions().functions()).extracting(FunctionConfiguration::functionName)
                .containsExactly("fn1", "fn2", "fn3", "fn4");
    }

    @Test
    void shouldGiveEnisAddressesInstancesDoNotHaveAndKeepInstancesOffThem() {
        assertThat(w.ec2.runInstances(b -> b.imageId("ami-x").subnetId(subnetA).minCount(2).maxCount(2)).instances())
                .extracting(i -> i.privateIpAddress()).containsExactlyInAnyOrder("10.0.1.4", "10.0.1.5");
        w.create("fn", role, List.of(subnetA), List.of(fnGroup));
        awaitState("fn", State.ACTIVE);
        String eniIp = w.enis().getFirst().privateIpAddress();
        assertThat(eniIp).isEqualTo("10.0.1.6");
        String next = w.ec2.runInstances(b -> b.imageId("ami-x").subnetId(subnetA).minCount(1).maxCount(1)).instances().getFirst().privateIpAddress();
        assertThat(next).isEqualTo("10.0.1.7");
        Ec2Exception taken = catchThrowableOfType(Ec2Exception.class, () -> w.ec2.runInstances(b -> b.imageId("ami-x").subnetId(subnetA)
                .minCount(1).maxCount(1).privateIpAddress(eniIp)));
        assertThat(taken.awsErrorDetails().errorCode()).isEqualTo("InvalidIPAddress.InUse");
    }

    @Test
    void shouldRefuseCodeThatUnzipsPastLambdasQuotaWhateverItsHeadersSay() throws Exception {
        // 263 MB of zeros deflate to a few hundred KB: a zip bomb by Lambda's measure (250 MB unzipped).
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("bootstrap"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 251; i++) {
                zip.write(zeros);
            }
            zip.closeEntry();
        }
        LambdaException e = error(() -> w.lambda.createFunction(b -> b.functionName("bomb").role(role).runtime("provided.al2023")
                .handler("bootstrap").code(c -> c.zipFile(SdkBytes.fromByteArray(bytes.toByteArray())))));
        assertThat(e.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValueException");
        assertThat(e.awsErrorDetails().errorMessage()).isEqualTo("Unzipped size must be smaller than 262144000 bytes");
        assertThat(w.lambda.listFunctions().functions()).extracting(FunctionConfiguration::functionName).doesNotContain("bomb");
    }

    @Test
    void shouldRejectInvalidRequestsWithLambdasErrorsAndChangeNothing() {
        String otherVpc = w.vpc("10.9.0.0/16");
        String otherSubnet = w.subnet(otherVpc, "10.9.1.0/24");
        String otherGroup = w.group(otherVpc, "elsewhere");
        w.create("taken", role, null, null);
        record Case(String what, Runnable call, String type, int status) {
        }
        List<String> manySubnets = IntStream.range(0, 17).mapToObj(i -> subnetA).toList();
        List<String> manyGroups = IntStream.range(0, 6).mapToObj(i -> fnGroup).toList();
        List<Case> cases = List.of(
                new Case("unknown subnet", () -> w.create("f", role, List.of("subnet-0123456789abcdef0"), List.of(fnGroup)), "InvalidParameterValueException", 400),
                new Case("group of another VPC", () -> w.create("f", role, List.of(subnetA), List.of(otherGroup)), "InvalidParameterValueException", 400),
                new Case("subnets of two VPCs", () -> w.create("f", role, List.of(subnetA, otherSubnet), List.of(fnGroup)), "InvalidParameterValueException", 400),
                new Case("17 subnets", () -> w.create("f", role, manySubnets, List.of(fnGroup)), "ValidationException", 400),
                new Case("6 groups", () -> w.create("f", role, List.of(subnetA), manyGroups), "ValidationException", 400),
                new Case("missing role", () -> w.create("f", "arn:aws:iam::" + w.account() + ":role/nobody", List.of(subnetA), List.of(fnGroup)),
                        "InvalidParameterValueException", 400),
                new Case("duplicate name", () -> w.create("taken", role, List.of(subnetA), List.of(fnGroup)), "ResourceConflictException", 409),
                new Case("bad name", () -> w.create("has space", role, null, null), "ValidationException", 400),
                new Case("not a zip", () -> w.lambda.createFunction(b -> b.functionName("f").role(role).runtime("provided.al2023")
                        .code(c -> c.zipFile(SdkBytes.fromUtf8String("not a zip")))), "InvalidParameterValueException", 400),
                new Case("unknown function", () -> w.configuration("nope"), "ResourceNotFoundException", 404));
        for (Case c : cases) {
            LambdaException e = error(c.call());
            assertThat(e.awsErrorDetails().errorCode()).as(c.what()).isEqualTo(c.type());
            assertThat(e.statusCode()).as(c.what()).isEqualTo(c.status());
            assertThat(e.awsErrorDetails().errorMessage()).as(c.what()).isNotBlank();
        }
        assertThat(w.lambda.listFunctions().functions()).extracting(FunctionConfiguration::functionName).containsExactly("taken");
        assertThat(w.enis()).isEmpty();
        assertThat(w.configuration("taken").vpcConfig()).as("the duplicate did not change the original").isNull();
    }

    @Test
    void shouldFailWithInsufficientRolePermissionsWhenTheRoleCannotManageEnis() {
        String basic = w.role("basic-only", ManagedPolicies.BASIC_EXECUTION);
        w.create("fn", basic, List.of(subnetA), List.of(fnGroup));
        var failed = awaitState("fn", State.FAILED);
        assertThat(failed.stateReasonCodeAsString()).isEqualTo("InsufficientRolePermissions");
        assertThat(failed.stateReason()).contains("CreateNetworkInterface");
        assertThat(w.enis()).isEmpty();

        // An inline policy granting exactly the three actions (with a wildcard) is enough.
        w.iam.putRolePolicy(b -> b.roleName("basic-only").policyName("enis").policyDocument("""
                {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*NetworkInterface","ec2:DescribeNetworkInterfaces"],"Resource":"*"}]}"""));
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").description("retry"));
        awaitState("fn", State.ACTIVE);
        assertThat(w.enis()).hasSize(1);
    }

    @Test
    void shouldFailWithSubnetOutOfIpAddressesWhenInstancesTookTheSubnet() {
        String small = w.subnet(vpc, "10.0.3.0/28"); // 16 addresses, 5 reserved: 11 usable
        w.ec2.runInstances(b -> b.imageId("ami-x").subnetId(small).minCount(11).maxCount(11));
        w.create("fn", role, List.of(small), List.of(fnGroup));
        var failed = awaitState("fn", State.FAILED);
        assertThat(failed.stateReasonCodeAsString()).isEqualTo("SubnetOutOfIPAddresses");
        assertThat(w.enis()).isEmpty();
    }

    @Test
    void shouldFailWithEniLimitExceededBeyondTheVpcsQuota() {
        List<String> groups = new ArrayList<>();
        for (int i = 0; i < QUOTA; i++) {
            groups.add(w.group(vpc, "g" + i));
            w.create("fn" + i, role, List.of(subnetA), List.of(groups.get(i)));
        }
        for (int i = 0; i < QUOTA; i++) {
            awaitState("fn" + i, State.ACTIVE);
        }
        w.create("one-too-many", role, List.of(subnetB), List.of(fnGroup));
        var failed = awaitState("one-too-many", State.FAILED);
        assertThat(failed.stateReasonCodeAsString()).isEqualTo("EniLimitExceeded");
        assertThat(w.enis()).hasSize(QUOTA);
        // A function whose key already has an ENI needs no new one: still fine at the quota.
        w.create("sharing", role, List.of(subnetA), List.of(groups.getFirst()));
        awaitState("sharing", State.ACTIVE);
    }

    @Test
    void shouldUpdateTheVpcConfigInProgressThenSuccessfulAndDeleteTheOldEniAfterTheGracePeriod() {
        w.create("fn", role, List.of(subnetA), List.of(fnGroup));
        awaitState("fn", State.ACTIVE);
        String oldEni = w.enis().getFirst().networkInterfaceId();

        var updating = w.lambda.updateFunctionConfiguration(b -> b.functionName("fn")
                .vpcConfig(v -> v.subnetIds(subnetB).securityGroupIds(fnGroup)));
        assertThat(updating.lastUpdateStatus()).isEqualTo(LastUpdateStatus.IN_PROGRESS);
        LambdaException busy = catchThrowableOfType(LambdaException.class, () -> w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").timeout(9)));
        if (busy != null) { // the update may already be done: then the second one is simply accepted
            assertThat(busy.awsErrorDetails().errorCode()).isEqualTo("ResourceConflictException");
        }
        w.lambda.waiter().waitUntilFunctionUpdatedV2(b -> b.functionName("fn"));
        awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
        assertThat(w.configuration("fn").vpcConfig().subnetIds()).containsExactly(subnetB);
        await().atMost(Duration.ofSeconds(30)).until(() -> w.enis().stream().noneMatch(e -> e.networkInterfaceId().equals(oldEni)));
        assertThat(w.enis()).extracting(NetworkInterface::subnetId).containsExactly(subnetB);

        // Empty lists detach the function from the VPC; its ENI goes after the grace period.
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").vpcConfig(v -> v.subnetIds(Collections.emptyList())
                .securityGroupIds(Collections.emptyList())));
        awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
        assertThat(w.configuration("fn").vpcConfig().subnetIds()).isEmpty();
        await().atMost(Duration.ofSeconds(30)).until(() -> w.enis().isEmpty());
        // An update without VpcConfig keeps it (here: none).
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").memorySize(256));
        assertThat(awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL).memorySize()).isEqualTo(256);
    }

    @Test
    void shouldFailAnUpdateAndKeepTheOldConfigurationInForce() {
        w.create("fn", role, List.of(subnetA), List.of(fnGroup));
        awaitState("fn", State.ACTIVE);
        String eni = w.enis().getFirst().networkInterfaceId();
        String basic = w.role("basic-only", ManagedPolicies.BASIC_EXECUTION);
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").role(basic).vpcConfig(v -> v.subnetIds(subnetB).securityGroupIds(fnGroup)));
        var failed = awaitUpdate("fn", LastUpdateStatus.FAILED);
        assertThat(failed.lastUpdateStatusReasonCodeAsString()).isEqualTo("InsufficientRolePermissions");
        assertThat(failed.state()).as("the function keeps running on its old network").isEqualTo(State.ACTIVE);
        assertThat(w.functionsOn(eni)).containsExactly("fn:$LATEST");
    }

    @Test
    void shouldShareEnisAcrossPublishedVersionsAndDeleteThemWhenNoVersionUsesThem() {
        w.create("fn", role, List.of(subnetA), List.of(fnGroup));
        awaitState("fn", State.ACTIVE);
        String eniA = w.enis().getFirst().networkInterfaceId();
        var v1 = w.lambda.publishVersion(b -> b.functionName("fn").description("first"));
        assertThat(v1.version()).isEqualTo("1");
        assertThat(v1.functionArn()).endsWith(":function:fn:1");
        assertThat(w.functionsOn(eniA)).containsExactly("fn:$LATEST", "fn:1");

        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").vpcConfig(v -> v.subnetIds(subnetB).securityGroupIds(fnGroup)));
        awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
        assertThat(w.functionsOn(eniA)).as("version 1 still runs in subnet A").containsExactly("fn:1");
        assertThat(w.lambda.listVersionsByFunction(b -> b.functionName("fn")).versions()).extracting(FunctionConfiguration::version)
                .containsExactly("$LATEST", "1");
        assertThat(w.lambda.getFunctionConfiguration(b -> b.functionName("fn").qualifier("1")).vpcConfig().subnetIds()).containsExactly(subnetA);
        assertThat(w.lambda.getFunction(b -> b.functionName("fn:1")).configuration().version()).isEqualTo("1");

        LambdaException latest = error(() -> w.lambda.deleteFunction(b -> b.functionName("fn").qualifier("$LATEST")));
        assertThat(latest.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValueException");
        w.lambda.deleteFunction(b -> b.functionName("fn").qualifier("1"));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.enis().stream().noneMatch(e -> e.networkInterfaceId().equals(eniA)));

        w.lambda.deleteFunction(b -> b.functionName("fn"));
        assertThat(error(() -> w.configuration("fn")).statusCode()).isEqualTo(404);
        await().atMost(Duration.ofSeconds(30)).until(() -> w.enis().isEmpty());
    }

    @Test
    void shouldRefuseToDeleteAnEniInUseAndToDeleteItsSubnetOrGroup() {
        w.create("fn", role, List.of(subnetA), List.of(fnGroup));
        awaitState("fn", State.ACTIVE);
        NetworkInterface eni = w.enis().getFirst();
        Ec2Exception inUse = catchThrowableOfType(Ec2Exception.class, () -> w.ec2.deleteNetworkInterface(b -> b.networkInterfaceId(eni.networkInterfaceId())));
        assertThat(inUse.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValue");
        assertThat(inUse.awsErrorDetails().errorMessage()).contains("currently in use");
        assertThat(catchThrowableOfType(Ec2Exception.class, () -> w.ec2.deleteSubnet(b -> b.subnetId(subnetA))).awsErrorDetails().errorCode())
                .isEqualTo("DependencyViolation");
        assertThat(catchThrowableOfType(Ec2Exception.class, () -> w.ec2.deleteSecurityGroup(b -> b.groupId(fnGroup))).awsErrorDetails().errorCode())
                .isEqualTo("DependencyViolation");
        assertThat(w.ec2.describeNetworkInterfaces(b -> b.filters(f -> f.name("interface-type").values("lambda"),
                f -> f.name("subnet-id").values(subnetA))).networkInterfaces()).hasSize(1);
        assertThat(w.ec2.describeNetworkInterfaces(b -> b.filters(f -> f.name("subnet-id").values(subnetB))).networkInterfaces()).isEmpty();
        Ec2Exception unknown = catchThrowableOfType(Ec2Exception.class, () -> w.ec2.describeNetworkInterfaces(b -> b.networkInterfaceIds("eni-0123456789abcdef0")));
        assertThat(unknown.awsErrorDetails().errorCode()).isEqualTo("InvalidNetworkInterfaceID.NotFound");
    }

    @Test
    void shouldReserveConcurrencyWithinTheAccountsUnreservedMinimum() {
        w.create("fn", role, null, null);
        assertThat(w.lambda.getFunctionConcurrency(b -> b.functionName("fn")).reservedConcurrentExecutions()).isNull();
        assertThat(w.lambda.putFunctionConcurrency(b -> b.functionName("fn").reservedConcurrentExecutions(50)).reservedConcurrentExecutions()).isEqualTo(50);
        assertThat(w.lambda.getFunctionConcurrency(b -> b.functionName("fn")).reservedConcurrentExecutions()).isEqualTo(50);
        assertThat(w.lambda.getFunction(b -> b.functionName("fn")).concurrency().reservedConcurrentExecutions()).isEqualTo(50);
        LambdaException tooMuch = error(() -> w.lambda.putFunctionConcurrency(b -> b.functionName("fn").reservedConcurrentExecutions(901)));
        assertThat(tooMuch.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValueException");
        assertThat(tooMuch.awsErrorDetails().errorMessage()).contains("minimum value of [100]");
        assertThat(w.lambda.getFunctionConcurrency(b -> b.functionName("fn")).reservedConcurrentExecutions()).isEqualTo(50);
        w.lambda.deleteFunctionConcurrency(b -> b.functionName("fn"));
        assertThat(w.lambda.getFunctionConcurrency(b -> b.functionName("fn")).reservedConcurrentExecutions()).isNull();
    }

    @Test
    void shouldUpdateCodeAndConfigurationAndPage() {
        w.create("fn", role, null, null, b -> b.environment(e -> e.variables(Map.of("GREETING", "hi"))).timeout(10).memorySize(512));
        awaitState("fn", State.ACTIVE);
        var before = w.configuration("fn");
        assertThat(before.environment().variables()).containsEntry("GREETING", "hi");
        assertThat(before.timeout()).isEqualTo(10);
        byte[] code = LambdaWorld.zip("bootstrap", "#!/bin/sh\necho changed\n");
        var updated = w.lambda.updateFunctionCode(b -> b.functionName("fn").zipFile(SdkBytes.fromByteArray(code)));
        assertThat(updated.codeSha256()).isNotEqualTo(before.codeSha256());
        assertThat(updated.codeSize()).isEqualTo(code.length);
        awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
        assertThat(w.lambda.getFunction(b -> b.functionName("fn")).code().repositoryType()).isEqualTo("S3");
        for (int i = 0; i < 55; i++) {
            int n = i;
            w.create("page" + n, role, null, null);
        }
        var first = w.lambda.listFunctions(b -> b.maxItems(50));
        assertThat(first.functions()).hasSize(50);
        assertThat(first.nextMarker()).isNotNull();
        var second = w.lambda.listFunctions(b -> b.marker(first.nextMarker()));
        assertThat(second.functions()).hasSize(6);
        assertThat(second.nextMarker()).isNull();
    }

    @Test
    void shouldKeepEphemeralStorageThroughCreateUpdatesListingAndPublishedVersions() {
        w.create("plain", role, null, null);
        var created = w.create("fn", role, null, null, b -> b.ephemeralStorage(e -> e.size(2048)));
        assertThat(created.ephemeralStorage().size()).isEqualTo(2048);
        awaitState("fn", State.ACTIVE);
        assertThat(w.configuration("plain").ephemeralStorage().size()).as("Lambda's default").isEqualTo(512);
        assertThat(w.lambda.getFunction(b -> b.functionName("fn")).configuration().ephemeralStorage().size()).isEqualTo(2048);
        assertThat(w.lambda.listFunctions().functions()).extracting(f -> f.functionName() + "=" + f.ephemeralStorage().size())
                .containsExactly("fn=2048", "plain=512");

        String revision = w.configuration("fn").revisionId();
        var updated = w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").ephemeralStorage(e -> e.size(10240)));
        assertThat(updated.ephemeralStorage().size()).isEqualTo(10240);
        assertThat(updated.revisionId()).as("a new revision: warm environments of the old size are not reused").isNotEqualTo(revision);
        awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").description("an update without EphemeralStorage"));
        assertThat(awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL).ephemeralStorage().size()).isEqualTo(10240);

        assertThat(w.lambda.publishVersion(b -> b.functionName("fn")).ephemeralStorage().size()).isEqualTo(10240);
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").ephemeralStorage(e -> e.size(512)));
        awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
        assertThat(w.lambda.getFunctionConfiguration(b -> b.functionName("fn").qualifier("1")).ephemeralStorage().size())
                .as("a published version keeps its size").isEqualTo(10240);
        assertThat(w.lambda.listVersionsByFunction(b -> b.functionName("fn")).versions()).extracting(f -> f.ephemeralStorage().size())
                .containsExactly(512, 10240);
    }

    @Test
    void shouldRefuseEphemeralStorageOutsideLambdasRangeAndChangeNothing() {
        w.create("fn", role, null, null, b -> b.ephemeralStorage(e -> e.size(1024)));
        awaitState("fn", State.ACTIVE);
        String revision = w.configuration("fn").revisionId();
        String tooSmall = "1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to satisfy constraint:"
                + " Member must have value greater than or equal to 512";
        String tooLarge = "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint:"
                + " Member must have value less than or equal to 10240";
        record Case(String what, Runnable call, String message) {
        }
        List<Case> cases = List.of(
                new Case("create below", () -> w.create("other", role, null, null, b -> b.ephemeralStorage(e -> e.size(511))), tooSmall),
                new Case("create above", () -> w.create("other", role, null, null, b -> b.ephemeralStorage(e -> e.size(10241))), tooLarge),
                new Case("update below", () -> w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").ephemeralStorage(e -> e.size(511))),
                        tooSmall),
                new Case("update above", () -> w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").ephemeralStorage(e -> e.size(10241))),
                        tooLarge));
        for (Case c : cases) {
            LambdaException e = error(c.call());
            assertThat(e.awsErrorDetails().errorCode()).as(c.what()).isEqualTo("ValidationException");
            assertThat(e.statusCode()).as(c.what()).isEqualTo(400);
            assertThat(e.awsErrorDetails().errorMessage()).as(c.what()).isEqualTo(c.message());
        }
        assertThat(w.lambda.listFunctions().functions()).extracting(FunctionConfiguration::functionName).containsExactly("fn");
        var after = w.configuration("fn");
        assertThat(after.ephemeralStorage().size()).isEqualTo(1024);
        assertThat(after.revisionId()).isEqualTo(revision);
        assertThat(after.lastUpdateStatus()).as("no update was started").isEqualTo(LastUpdateStatus.SUCCESSFUL);
    }

    @Test
    void shouldHandTheWorkerTheEphemeralStorageSizeAndANewRevisionWhenOnlyTheSizeChanged() throws Exception {
        List<JsonNode> invocations = new CopyOnWriteArrayList<>();
        HttpServer worker = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        worker.createContext("/invoke", exchange -> {
            invocations.add(JSON.readTree(exchange.getRequestBody()));
            byte[] answer = "{\"outcome\":\"success\",\"payload\":\"e30=\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        worker.start();
        try {
            URI url = URI.create("http://127.0.0.1:" + worker.getAddress().getPort());
            w.create("fn", role, null, null, b -> b.ephemeralStorage(e -> e.size(4096)));
            awaitState("fn", State.ACTIVE);
            w.server.workers().heartbeat("fake", url, "127.0.0.1", "shared", 0); // just before each invoke: liveness is 3 s
            assertThat(w.lambda.invoke(b -> b.functionName("fn")).statusCode()).isEqualTo(200);
            w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").ephemeralStorage(e -> e.size(8192)));
            awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL);
            w.server.workers().heartbeat("fake", url, "127.0.0.1", "shared", 0);
            assertThat(w.lambda.invoke(b -> b.functionName("fn")).statusCode()).isEqualTo(200);
        } finally {
            worker.stop(0);
        }
        assertThat(invocations).extracting(j -> j.path("ephemeralStorageMb").asInt()).containsExactly(4096, 8192);
        assertThat(invocations.get(1).path("revisionId").asText()).as("the worker's environment key changes")
                .isNotEqualTo(invocations.get(0).path("revisionId").asText());
    }

    @Test
    void shouldRefuseReservedEnvironmentVariablesWithLambdasMessageAndChangeNothing() {
        Map<String, String> withReserved = new LinkedHashMap<>();
        withReserved.put("GREETING", "hi");
        withReserved.put("AWS_REGION", "eu-west-1");
        withReserved.put("AWS_LAMBDA_FUNCTION_NAME", "other");
        LambdaException onCreate = error(() -> w.create("fn", role, null, null, b -> b.environment(e -> e.variables(withReserved))));
        assertThat(onCreate.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValueException");
        assertThat(onCreate.statusCode()).isEqualTo(400);
        assertThat(onCreate.awsErrorDetails().errorMessage()).isEqualTo(RESERVED_KEYS + "AWS_REGION, AWS_LAMBDA_FUNCTION_NAME");
        // The reserved names with a leading underscore fail the API model's name pattern first.
        LambdaException underscore = error(() -> w.create("fn", role, null, null, b -> b.environment(e -> e.variables(Map.of("_HANDLER", "x")))));
        assertThat(underscore.awsErrorDetails().errorCode()).isEqualTo("ValidationException");
        assertThat(error(() -> w.configuration("fn")).statusCode()).as("not created").isEqualTo(404);

        w.create("fn", role, null, null, b -> b.environment(e -> e.variables(Map.of("GREETING", "hi"))));
        awaitState("fn", State.ACTIVE);
        String revision = w.configuration("fn").revisionId();
        LambdaException onUpdate = error(() -> w.lambda.updateFunctionConfiguration(b -> b.functionName("fn")
                .environment(e -> e.variables(Map.of("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9999")))));
        assertThat(onUpdate.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValueException");
        assertThat(onUpdate.statusCode()).isEqualTo(400);
        assertThat(onUpdate.awsErrorDetails().errorMessage()).isEqualTo(RESERVED_KEYS + "AWS_LAMBDA_RUNTIME_API");
        var after = w.configuration("fn");
        assertThat(after.environment().variables()).containsExactly(Map.entry("GREETING", "hi"));
        assertThat(after.revisionId()).isEqualTo(revision);
        assertThat(after.lastUpdateStatus()).as("no update was started").isEqualTo(LastUpdateStatus.SUCCESSFUL);
    }

    @Test
    void shouldAcceptUnreservedEnvironmentVariablesSuchAsTheDynamicLinkers() {
        Map<String, String> unreserved = Map.of("LD_PRELOAD", "/opt/lib/libhook.so", "LD_LIBRARY_PATH", "/opt/lib", "PYTHONPATH", "/opt/python",
                "PATH", "/opt/bin:/usr/bin:/bin", "LANG", "C.UTF-8", "TZ", "UTC");
        w.create("fn", role, null, null, b -> b.environment(e -> e.variables(unreserved)));
        assertThat(w.configuration("fn").environment().variables()).containsExactlyInAnyOrderEntriesOf(unreserved);
        awaitState("fn", State.ACTIVE);
        w.lambda.updateFunctionConfiguration(b -> b.functionName("fn").environment(e -> e.variables(Map.of("LD_PRELOAD", "/opt/lib/other.so"))));
        assertThat(awaitUpdate("fn", LastUpdateStatus.SUCCESSFUL).environment().variables())
                .containsExactly(Map.entry("LD_PRELOAD", "/opt/lib/other.so"));
    }
}
