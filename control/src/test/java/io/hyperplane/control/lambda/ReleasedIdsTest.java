package io.hyperplane.control.lambda;

import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Sql;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.lambda.model.State;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every way a resource holding a pool's value is deleted gives the value back (IdPool): DeleteVpc
 * its VTEP address, DeleteSubnet its VNI, an environment's deregistration its VNI, and each way an
 * ENI goes (the reconciler after the grace period, DeleteNetworkInterface, the legacy model) its MAC.
 */
@Timeout(90)
class ReleasedIdsTest {
    @TempDir
    Path dir;
    private LambdaWorld w;
    private Database store;

    @BeforeEach
    void start() throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ofHours(1)))));
        store = Database.open(w.server.databaseUrl(), "sa", ""); // the server's embedded store, shared in this JVM
    }

    @AfterEach
    void stop() {
        if (store != null) {
            store.close();
        }
        if (w != null) {
            w.close();
        }
    }

    private String held(String sql, Object... args) {
        return store.inTransaction(c -> Sql.strings(c, sql, args).getFirst());
    }

    private boolean released(IdPool pool, String stored) {
        return store.inTransaction(c -> Sql.count(c, "SELECT COUNT(*) FROM id_pool_released WHERE pool = ? AND first_value = last_value"
                + " AND first_value = ?", pool.name(), pool.parse(stored)) == 1);
    }

    @Test
    void shouldGiveBackEveryValueItsResourceHeldWhenTheResourceIsDeleted() throws Exception {
        String vpc = w.vpc("10.0.0.0/16");
        String subnet = w.subnet(vpc, "10.0.1.0/24");
        String group = w.group(vpc, "fn");
        String role = w.vpcRole("fn-role");
        String vtep = held("SELECT vtep_ip FROM vpcs WHERE id = ?", vpc);
        String subnetVni = held("SELECT vni FROM subnets WHERE id = ?", subnet);

        // An ENI the reconciler made, deleted by its owner once no function uses it.
        w.create("fn", role, List.of(subnet), List.of(group));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.ACTIVE);
        String eni = w.enis().getFirst().networkInterfaceId();
        String eniMac = w.enis().getFirst().macAddress();
        w.lambda.deleteFunction(b -> b.functionName("fn"));
        await().atMost(Duration.ofSeconds(30)).ignoreException(Ec2Exception.class)
                .until(() -> w.ec2.deleteNetworkInterface(b -> b.networkInterfaceId(eni)) != null);
        assertThat(released(IdPool.ENI_MAC, eniMac)).as("DeleteNetworkInterface").isTrue();

        // An ENI the reconciler deletes after the grace period.
        w.close();
        w = null;
        store.close();
        store = null;
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(Duration.ZERO))));
        store = Database.open(w.server.databaseUrl(), "sa", "");
        w.create("fn2", role, List.of(subnet), List.of(group));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn2").state() == State.ACTIVE);
        String graceMac = w.enis().getFirst().macAddress();
        w.lambda.deleteFunction(b -> b.functionName("fn2"));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.enis().isEmpty());
        assertThat(released(IdPool.ENI_MAC, graceMac)).as("the reconciler").isTrue();

        // A legacy ENI and an environment, as a worker registers and removes them.
        LegacyEnis.Created legacy = w.server.legacyEnis().create(w.account(), "fn3", subnet, List.of(group));
        String legacyMac = held("SELECT mac FROM network_interfaces WHERE id = ?", legacy.eniId());
        assertThat(w.node("POST", "/hyperplane/v1/execution-environments", "{\"id\":\"hp-ee-1\",\"hostIp\":\"198.18.0.2\","
                + "\"ip\":\"100.64.0.16\",\"mac\":\"02:ee:00:00:00:01\",\"eniId\":\"" + legacy.eniId() + "\"}").statusCode()).isEqualTo(201);
        String eeVni = held("SELECT vni FROM execution_environments WHERE id = 'hp-ee-1'");
        assertThat(w.node("DELETE", "/hyperplane/v1/execution-environments/hp-ee-1", null).statusCode()).isEqualTo(204);
        assertThat(released(IdPool.EE_VNI, eeVni)).as("an environment's deregistration").isTrue();
        w.server.legacyEnis().delete(legacy.eniId());
        assertThat(released(IdPool.ENI_MAC, legacyMac)).as("a legacy ENI").isTrue();

        w.ec2.deleteSubnet(b -> b.subnetId(subnet));
        assertThat(released(IdPool.SUBNET_VNI, subnetVni)).as("DeleteSubnet").isTrue();
        w.ec2.deleteSecurityGroup(b -> b.groupId(group));
        w.ec2.deleteVpc(b -> b.vpcId(vpc));
        assertThat(released(IdPool.VPC_VTEP, vtep)).as("DeleteVpc").isTrue();
    }
}
