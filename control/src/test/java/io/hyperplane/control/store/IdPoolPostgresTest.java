package io.hyperplane.control.store;

import org.junit.jupiter.api.extension.RegisterExtension;

/** The pools on PostgreSQL: a private cluster for the class, a new database per test. */
class IdPoolPostgresTest extends IdPoolContract {
    @RegisterExtension
    static final PostgresCluster.PerClass postgres = new PostgresCluster.PerClass();

    @Override
    Database open() throws Exception {
        return postgres.newDatabase();
    }

    @Override
    int cyclesPerPool() {
        return 5_000;
    }
}
