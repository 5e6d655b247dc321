package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.lambda.model.LambdaException;
import software.amazon.awssdk.services.lambda.model.LastUpdateStatus;
import software.amazon.awssdk.services.lambda.model.State;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * The node protocol (long-poll, heartbeats, bearer token) and what it gates: an ENI is available
 * only once every live node runs a configuration that has it; a node that never catches up makes
 * the function fail with InternalError; an update keeps the old ENIs in force until the new ones
 * are programmed. Also idle reclaim and restoration, and the failures restoration can meet.
 */
@Timeout(120)
class NodeProgrammingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private LambdaWorld w;

    private void start(FunctionReconciler.Settings functions) throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null).withFunctions(functions)));
    }

    @AfterEach
    void stop() {
        if (w != null) {
            w.close();
        }
    }

    private record World(String vpc, String subnetA, String subnetB, String group, String role) {
    }

    private World world() {
        String vpc = w.vpc("10.0.0.0/16");
        return new World(vpc, w.subnet(vpc, "10.0.1.0/24"), w.subnet(vpc, "10.0.2.0/24"), w.group(vpc, "fn"), w.vpcRole("fn-role"));
    }

    private NodeSnapshot poll(long after, int waitSeconds) {
        HttpResponse<String> r = w.node("GET", "/hyperplane/v1/nodes/n1/config?after=" + after + "&waitSeconds=" + waitSeconds, null);
        if (r.statusCode() == 304) {
            return null;
        }
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        NodeSnapshot snapshot = SnapshotJson.parse(r.body());
        assertThat(r.headers().firstValue("X-Hyperplane-Config-Version")).hasValue(Long.toString(snapshot.version()));
        return snapshot;
    }

    @Test
    void shouldKeepAFunctionPendingUntilEveryLiveNodeHasItsEniAndLongPollChanges() throws Exception {
        start(FunctionReconciler.Settings.DEFAULTS);
        World x = world();
        assertThat(w.node("GET", "/hyperplane/v1/nodes/n1/config?after=-1", null).statusCode()).isEqualTo(200);
        HttpResponse<String> noToken = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(w.server.endpoint().resolve("/hyperplane/v1/nodes/n1/config")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(noToken.statusCode()).isEqualTo(401);

        NodeSnapshot initial = poll(-1, 0);
        w.heartbeat("n1", initial.version());
        assertThat(w.server.nodes().live()).extracting(NodeRegistryView::name).containsExactly("n1");
        assertThat(poll(initial.version(), 1)).as("nothing changed: 304 after the wait").isNull();

        // A long-poll waiting when the function is created returns the version with its ENI.
        CompletableFuture<NodeSnapshot> waiting = CompletableFuture.supplyAsync(() -> poll(initial.version(), 30));
        w.create("fn", x.role(), List.of(x.subnetA()), List.of(x.group()));
        NodeSnapshot withEni = waiting.join();
        List<NodeSnapshot.Eni> tenants = withEni.enis().stream().filter(e -> !e.serviceEgress()).toList(); // the service egress is in every one
        assertThat(tenants).hasSize(1);
        NodeSnapshot.Eni eni = tenants.getFirst();
        assertThat(eni.subnetId()).isEqualTo(x.subnetA());
        assertThat(withEni.securityGroups()).extracting(NodeSnapshot.SecurityGroup::id).contains(x.group());
        assertThat(withEni.subnets().getFirst().networkAclId()).as("the subnet's ACL travels with it").isNotBlank();
        assertThat(withEni.routeTables().getFirst().routes()).extracting(NodeSnapshot.Route::target).contains("local");

        // The node has not applied it yet: the ENI is being attached and the function waits, and keeps waiting.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10)).until(() -> w.configuration("fn").state() == State.PENDING);
        assertThat(w.enis().getFirst().statusAsString()).isEqualTo("attaching");
        w.heartbeat("n1", withEni.version());
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.ACTIVE);
        assertThat(w.enis().getFirst().statusAsString()).isEqualTo("in-use");

        // A security-group rule change is a new version right away (new rules for new flows).
        CompletableFuture<NodeSnapshot> next = CompletableFuture.supplyAsync(() -> poll(withEni.version(), 30));
        w.ec2.authorizeSecurityGroupEgress(b -> b.groupId(x.group()).ipPermissions(p -> p.ipProtocol("tcp").fromPort(5432).toPort(5432)
                .ipRanges(r -> r.cidrIp("10.0.2.0/24"))));
        NodeSnapshot changed = next.join();
        assertThat(changed.version()).isGreaterThan(withEni.version());
        assertThat(changed.securityGroups().stream().filter(g -> g.id().equals(x.group())).findFirst().orElseThrow().egress())
                .extracting(NodeSnapshot.SecurityGroupRule::fromPort).contains(5432);

        // The ENI view shows the node and its load reports.
        w.node("PUT", "/hyperplane/v1/nodes/n1", "{\"underlayIp\":\"198.18.0.9\",\"appliedVersion\":" + changed.version()
                + ",\"enis\":[{\"id\":\"" + eni.id() + "\",\"ip\":\"" + eni.ip() + "\",\"flows\":7,\"natPorts\":7}]}");
        JsonNode view = w.enisView();
        assertThat(view.path("NetworkInterfaces").get(0).path("Flows").asLong()).isEqualTo(7);
        assertThat(view.path("NetworkInterfaces").get(0).path("Functions").get(0).asText()).isEqualTo("fn:$LATEST");
        assertThat(view.path("Nodes").get(0).path("AppliedVersion").asLong()).isEqualTo(changed.version());

        // A node leaving cleanly no longer holds anything up.
        assertThat(w.node("DELETE", "/hyperplane/v1/nodes/n1", null).statusCode()).isEqualTo(204);
        assertThat(w.server.nodes().live()).isEmpty();
    }

    /** Names of live nodes (keeps the assertion above readable). */
    private interface NodeRegistryView {
        static String name(NodeRegistry.NodeStatus s) {
            return s.name();
        }
    }

    @Test
    void shouldFailWithInternalErrorWhenALiveNodeNeverAppliesTheEniAndKeepTheOldEnisDuringAnUpdate() throws Exception {
        start(FunctionReconciler.Settings.DEFAULTS.withProgrammingTimeout(Duration.ofSeconds(3)));
        World x = world();
        w.create("ok", x.role(), List.of(x.subnetA()), List.of(x.group()));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("ok").state() == State.ACTIVE);
        String oldEni = w.enis().getFirst().networkInterfaceId();

        // A live node stuck on an old version: heartbeats keep it live, but it never catches up.
        Thread stuck = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    w.heartbeat("stuck", 0);
                    Thread.sleep(300);
                }
            } catch (InterruptedException | RuntimeException e) {
                // cancelled, or the server is stopping: the node goes quiet
            }
        });
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> !w.server.nodes().live().isEmpty());
            w.lambda.updateFunctionConfiguration(b -> b.functionName("ok").vpcConfig(v -> v.subnetIds(x.subnetB()).securityGroupIds(x.group())));
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                    .until(() -> w.configuration("ok").lastUpdateStatus() == LastUpdateStatus.IN_PROGRESS);
            assertThat(w.functionsOn(oldEni)).as("invokes keep the old configuration meanwhile").containsExactly("ok:$LATEST");
            await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("ok").lastUpdateStatus() == LastUpdateStatus.FAILED);
            assertThat(w.configuration("ok").lastUpdateStatusReasonCodeAsString()).isEqualTo("InternalError");
            assertThat(w.configuration("ok").state()).isEqualTo(State.ACTIVE);
            assertThat(w.functionsOn(oldEni)).containsExactly("ok:$LATEST");

            w.create("new", x.role(), List.of(x.subnetB()), List.of(x.group()));
            await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("new").state() == State.FAILED);
            assertThat(w.configuration("new").stateReasonCodeAsString()).isEqualTo("InternalError");
            assertThat(w.configuration("new").stateReason()).contains("stuck");
        } finally {
            stuck.interrupt();
            stuck.join();
        }
    }

    @Test
    void shouldGoInactiveWhenIdleReclaimTheEniAndRestoreOnTheNextInvoke() throws Exception {
        start(FunctionReconciler.Settings.DEFAULTS.withIdleAfter(Duration.ofSeconds(3)).withEniGrace(Duration.ZERO));
        World x = world();
        w.create("fn", x.role(), List.of(x.subnetA()), List.of(x.group()));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.ACTIVE);
        String eniIp = w.enis().getFirst().privateIpAddress();

        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.INACTIVE);
        assertThat(w.configuration("fn").stateReasonCodeAsString()).isEqualTo("Idle");
        await().atMost(Duration.ofSeconds(30)).until(() -> w.enis().isEmpty());

        LambdaException notReady = catchThrowableOfType(LambdaException.class, () -> w.lambda.invoke(b -> b.functionName("fn")));
        assertThat(notReady.awsErrorDetails().errorCode()).isEqualTo("ResourceNotReadyException");
        assertThat(notReady.statusCode()).isEqualTo(502);
        var restoring = w.configuration("fn"); // one read: the restoration may finish at any moment
        assertThat(restoring.state()).isIn(State.PENDING, State.ACTIVE);
        if (restoring.state() == State.PENDING) {
            assertThat(restoring.stateReasonCodeAsString()).isEqualTo("Restoring");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.ACTIVE);
        assertThat(w.enis()).hasSize(1);
        assertThat(w.enis().getFirst().privateIpAddress()).as("the subnet's first free address again").isEqualTo(eniIp);

        // Restoration meets what changed meanwhile: a deleted security group, then a deleted subnet.
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.INACTIVE && w.enis().isEmpty());
        w.ec2.deleteSecurityGroup(b -> b.groupId(x.group()));
        catchThrowableOfType(LambdaException.class, () -> w.lambda.invoke(b -> b.functionName("fn")));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.FAILED);
        assertThat(w.configuration("fn").stateReasonCodeAsString()).isEqualTo("InvalidSecurityGroup");

        w.create("fn2", x.role(), List.of(x.subnetB()), List.of(w.group(x.vpc(), "fn2")));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn2").state() == State.INACTIVE && w.enis().isEmpty());
        w.ec2.deleteSubnet(b -> b.subnetId(x.subnetB()));
        catchThrowableOfType(LambdaException.class, () -> w.lambda.invoke(b -> b.functionName("fn2")));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn2").state() == State.FAILED);
        assertThat(w.configuration("fn2").stateReasonCodeAsString()).isEqualTo("InvalidSubnet");
    }

    /**
     * The reconciler keeps no state of its own between rounds: stopped with a function Pending and
     * its ENI half-programmed (a node behind), a restarted server picks up where it was — the same
     * ENI and address, and Active once the node runs a version that has it.
     */
    @Test
    void shouldResumeAPendingFunctionAfterARestart() throws Exception {
        start(FunctionReconciler.Settings.DEFAULTS);
        World x = world();
        w.heartbeat("n1", 0);
        w.create("fn", x.role(), List.of(x.subnetA()), List.of(x.group()));
        await().atMost(Duration.ofSeconds(30)).until(() -> !w.enis().isEmpty());
        String eni = w.enis().getFirst().networkInterfaceId();
        String ip = w.enis().getFirst().privateIpAddress();
        assertThat(w.configuration("fn").state()).isEqualTo(State.PENDING);
        w.close();
        w = null;

        start(FunctionReconciler.Settings.DEFAULTS);
        assertThat(w.configuration("fn").state()).isEqualTo(State.PENDING);
        w.heartbeat("n1", 0);
        // The node is still behind: the function stays Pending.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10)).until(() -> w.configuration("fn").state() == State.PENDING);
        NodeSnapshot current = poll(-1, 0);
        assertThat(current.enis()).extracting(NodeSnapshot.Eni::id).containsExactly(Internet.SERVICE_EGRESS_ENI_ID, eni);
        w.heartbeat("n1", current.version());
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.ACTIVE);
        assertThat(w.enis()).extracting(e -> e.networkInterfaceId() + " " + e.privateIpAddress()).containsExactly(eni + " " + ip);
    }

    @Test
    void shouldRejectAWrongTokenAndBadHeartbeats() throws Exception {
        start(FunctionReconciler.Settings.DEFAULTS);
        HttpResponse<String> bad = w.node("PUT", "/hyperplane/v1/nodes/n1", "{\"underlayIp\":\"not-an-ip\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).path("message").asText()).contains("underlayIp");
        assertThat(w.server.nodes().all()).isEmpty();
        assertThat(w.node("PUT", "/hyperplane/v1/nodes/bad%20name!", "{}").statusCode()).isIn(400, 404);
    }
}
