package io.hyperplane.control.ec2;

import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.control.store.PostgresCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.nio.file.Path;

/** The contract on PostgreSQL: a private cluster for the class, a new database per test. */
class Ec2ApiPostgresTest extends Ec2ApiContract {
    private static PostgresCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = PostgresCluster.start();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    ControlPlaneServer.Settings settings(Path dataDir) throws Exception {
        return new ControlPlaneServer.Settings(dataDir, "127.0.0.1", 0, null, null, null)
                .withDatabase(cluster.newDatabase(), cluster.user(), null);
    }
}
