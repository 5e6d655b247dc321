package io.hyperplane.control.ec2;

import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.control.store.PostgresCluster;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;

/** The way out on PostgreSQL: a private cluster for the class, a new database per test. */
class WayOutApiPostgresTest extends WayOutApiContract {
    @RegisterExtension
    static final PostgresCluster.PerClass postgres = new PostgresCluster.PerClass();

    @Override
    ControlPlaneServer.Settings settings(Path dataDir) throws Exception {
        return new ControlPlaneServer.Settings(dataDir, "127.0.0.1", 0, null, null, null)
                .withDatabase(postgres.newDatabaseUrl(), postgres.user(), null);
    }
}
