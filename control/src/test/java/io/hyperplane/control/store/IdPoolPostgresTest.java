package io.hyperplane.control.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The pools on PostgreSQL: a private cluster for the class, a new database per test. */
class IdPoolPostgresTest extends IdPoolContract {
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

    @Override
    int cyclesPerPool() {
        return 5_000;
    }
}
