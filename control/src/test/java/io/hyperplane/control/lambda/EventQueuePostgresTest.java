package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.PostgresCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The event queue on PostgreSQL: a private cluster for the class, a new database per test. */
class EventQueuePostgresTest extends EventQueueContract {
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
    Database open() throws Exception {
        return Database.open(cluster.newDatabase(), cluster.user(), null);
    }
}
