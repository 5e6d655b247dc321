package io.hyperplane.control.nodes;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** Every snapshot the builder reads out of the store carries the service egress, and the environments bound to it. */
class ServiceEgressTest {
    @TempDir
    Path dir;
    private Database db;

    @BeforeEach
    void open() {
        db = Database.embedded(dir);
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void shouldCarryTheEgressResourcesInASnapshotOfAnEmptyStore() {
        NodeSnapshot snapshot = db.inTransaction(NodeConfigBuilder::build).snapshot();

        assertThat(snapshot.vpcs()).containsExactly(new NodeSnapshot.Vpc(Internet.SERVICE_EGRESS_VPC_ID, "192.0.2.0/24"));
        assertThat(snapshot.subnets()).containsExactly(new NodeSnapshot.Subnet(Internet.SERVICE_EGRESS_SUBNET_ID, Internet.SERVICE_EGRESS_VPC_ID,
                "192.0.2.0/24", 1000, "198.18.255.254", Internet.SERVICE_EGRESS_ACL_ID, Internet.SERVICE_EGRESS_ROUTE_TABLE_ID));
        NodeSnapshot.Eni eni = snapshot.enis().getFirst();
        assertThat(snapshot.enis()).hasSize(1);
        assertThat(eni.id()).isEqualTo(Internet.SERVICE_EGRESS_ENI_ID);
        assertThat(eni.ip()).isEqualTo("192.0.2.10");
        assertThat(eni.mac()).isEqualTo(Internet.SERVICE_EGRESS_MAC);
        assertThat(eni.serviceEgress()).isTrue();
        assertThat(eni.securityGroupIds()).containsExactly(Internet.SERVICE_EGRESS_GROUP_ID);
        assertThat(snapshot.securityGroups()).singleElement().satisfies(g -> {
            assertThat(g.id()).isEqualTo(Internet.SERVICE_EGRESS_GROUP_ID);
            assertThat(g.egress()).containsExactly(new NodeSnapshot.SecurityGroupRule("-1", -1, -1, "0.0.0.0/0", null));
        });
        assertThat(snapshot.networkAcls()).singleElement().satisfies(acl -> assertThat(acl.entries())
                .allMatch(e -> e.allows() && e.cidr().equals("0.0.0.0/0") && e.protocol().equals("-1"))
                .extracting(NodeSnapshot.NetworkAclEntry::egress).containsExactlyInAnyOrder(true, false));
        assertThat(snapshot.routeTables()).singleElement().satisfies(t -> assertThat(t.routes())
                .contains(new NodeSnapshot.Route("0.0.0.0/0", Internet.SERVICE_INTERNET_GATEWAY_ID)));
    }

    @Test
    void shouldPublishAnEnvironmentBoundToTheEgressButNotASlot() {
        db.inTransaction(c -> {
            Sql.update(c, "INSERT INTO execution_environments (id, vni, host_ip, ip, mac, eni_id, service_egress, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    "hp-ee-w1-1", 100_001, "198.18.0.11", "100.64.0.11", "02:ee:00:00:00:01", null, true, Timestamp.from(Instant.now()));
            Sql.update(c, "INSERT INTO execution_environments (id, vni, host_ip, ip, mac, eni_id, service_egress, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    "hp-ee-w1-2", 100_002, "198.18.0.11", "100.64.0.12", "02:ee:00:00:00:02", null, false, Timestamp.from(Instant.now()));
            return null;
        });

        NodeSnapshot snapshot = db.inTransaction(NodeConfigBuilder::build).snapshot();

        assertThat(snapshot.executionEnvironments()).containsExactly(new NodeSnapshot.ExecutionEnvironment("hp-ee-w1-1", 100_001, "198.18.0.11",
                "100.64.0.11", "02:ee:00:00:00:01", Internet.SERVICE_EGRESS_ENI_ID));
    }
}
