package io.hyperplane.control.lambda;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.sigv4.Credential;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.lambda.model.State;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tenants' networks are independent (DESIGN.md §9): the same CIDRs in many VPCs of many accounts
 * give ENIs at the same address, all published; and a resource the data plane cannot take fails
 * its own function only, never publishing, another tenant's changes, or a restart.
 */
@Timeout(120)
class TenantNetworksTest {
    @TempDir
    Path dir;
    private final List<LambdaWorld> worlds = new ArrayList<>();

    private LambdaWorld start() throws Exception {
        LambdaWorld w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)));
        worlds.add(w);
        return w;
    }

    private LambdaWorld otherAccount(LambdaWorld w, Credential credential) {
        LambdaWorld other = new LambdaWorld(w.server, credential);
        worlds.add(0, other);
        return other;
    }

    @AfterEach
    void stop() {
        worlds.forEach(LambdaWorld::close);
    }

    private record Tenant(String vpc, String subnet, String group, String role) {
    }

    private static Tenant tenant(LambdaWorld w, String role) {
        String vpc = w.vpc("10.0.0.0/16");
        return new Tenant(vpc, w.subnet(vpc, "10.0.1.0/24"), w.group(vpc, "fn"), role);
    }

    private static NodeSnapshot published(LambdaWorld w) {
        return w.server.nodeConfig().current().snapshot();
    }

    @Test
    void shouldPublishThreeEnisAtOneAddressInThreeVpcsOfTwoAccountsAndStartAgainWithThem() throws Exception {
        LambdaWorld a = start();
        Credential second = a.server.accounts().create();
        LambdaWorld b = otherAccount(a, second);
        String roleA = a.vpcRole("fn-role");
        String roleB = b.vpcRole("fn-role");
        List<Tenant> tenants = List.of(tenant(a, roleA), tenant(a, roleA), tenant(b, roleB));
        for (int i = 0; i < tenants.size(); i++) {
            Tenant t = tenants.get(i);
            (i < 2 ? a : b).create("fn" + i, t.role(), List.of(t.subnet()), List.of(t.group()));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> a.configuration("fn0").state() == State.ACTIVE
                && a.configuration("fn1").state() == State.ACTIVE && b.configuration("fn2").state() == State.ACTIVE);
        assertThat(published(a).enis()).filteredOn(e -> !e.serviceEgress()).hasSize(3).extracting(NodeSnapshot.Eni::ip).containsOnly("10.0.1.4");
        assertThat(published(a).vpcs()).filteredOn(v -> !v.id().equals(Internet.SERVICE_EGRESS_VPC_ID)).extracting(NodeSnapshot.Vpc::cidr).containsOnly("10.0.0.0/16").hasSize(3);
        // Each account sees its own ENIs only, with their own load.
        assertThat(a.enis()).hasSize(2);
        assertThat(b.enis()).hasSize(1);

        // A restart starts, and publishes the same three.
        worlds.forEach(LambdaWorld::close);
        worlds.clear();
        LambdaWorld again = start();
        assertThat(published(again).enis()).filteredOn(e -> !e.serviceEgress()).hasSize(3).extracting(NodeSnapshot.Eni::ip).containsOnly("10.0.1.4");
        assertThat(again.configuration("fn0").state()).isEqualTo(State.ACTIVE);
    }

    @Test
    void shouldFailOnlyTheFunctionWhoseEniTheDataPlaneCannotTake() throws Exception {
        LambdaWorld a = start();
        LambdaWorld b = otherAccount(a, a.server.accounts().create());
        String roleA = a.vpcRole("fn-role");
        Tenant first = tenant(a, roleA);
        a.create("first", roleA, List.of(first.subnet()), List.of(first.group()));
        await().atMost(Duration.ofSeconds(30)).until(() -> a.configuration("first").state() == State.ACTIVE);

        // A subnet the data plane cannot take: outside its VPC (what a bug or a hand edit of the store could leave).
        Tenant broken = tenant(a, roleA);
        try (Connection c = DriverManager.getConnection(a.server.databaseUrl(), "sa", "");
             PreparedStatement s = c.prepareStatement("UPDATE subnets SET cidr = '192.168.0.0/24' WHERE id = ?")) {
            s.setString(1, broken.subnet());
            assertThat(s.executeUpdate()).isEqualTo(1);
        }
        a.create("broken", roleA, List.of(broken.subnet()), List.of(broken.group()));
        await().atMost(Duration.ofSeconds(30)).until(() -> a.configuration("broken").state() == State.FAILED);
        assertThat(a.configuration("broken").stateReasonCodeAsString()).isEqualTo("InternalError");
        assertThat(a.configuration("broken").stateReason()).contains("into the forwarder nodes", broken.subnet(), "is outside vpc");
        assertThat(a.enisView().path("NetworkInterfaces").findValuesAsText("NotProgrammed")).singleElement().asString().contains("is outside vpc");

        // Everyone else carries on: another account's function becomes Active, and its group change is published within a second.
        Tenant probe = tenant(b, b.vpcRole("probe-role"));
        b.create("probe", probe.role(), List.of(probe.subnet()), List.of(probe.group()));
        await().atMost(Duration.ofSeconds(30)).until(() -> b.configuration("probe").state() == State.ACTIVE);
        b.ec2.authorizeSecurityGroupEgress(r -> r.groupId(probe.group()).ipPermissions(p -> p.ipProtocol("tcp").fromPort(6379).toPort(6379)
                .ipRanges(x -> x.cidrIp("10.0.1.0/24"))));
        await().atMost(Duration.ofSeconds(1)).until(() -> published(b).securityGroups().stream()
                .anyMatch(g -> g.id().equals(probe.group()) && g.egress().stream().anyMatch(rule -> rule.fromPort() == 6379)));
        assertThat(published(a).enis()).filteredOn(e -> !e.serviceEgress()).extracting(NodeSnapshot.Eni::subnetId).containsExactlyInAnyOrder(first.subnet(), probe.subnet());

        // And the server starts again with the broken subnet still in its store.
        worlds.forEach(LambdaWorld::close);
        worlds.clear();
        LambdaWorld again = start();
        assertThat(published(again).enis()).extracting(NodeSnapshot.Eni::subnetId).contains(first.subnet(), probe.subnet());
        assertThat(again.configuration("first").state()).isEqualTo(State.ACTIVE);
    }
}
