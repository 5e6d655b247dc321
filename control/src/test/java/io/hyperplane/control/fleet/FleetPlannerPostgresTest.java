package io.hyperplane.control.fleet;

import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.PostgresCluster;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The fleet's plan on PostgreSQL: a private cluster for the class, a new database per test. */
class FleetPlannerPostgresTest extends FleetPlannerContract {
    @RegisterExtension
    static final PostgresCluster.PerClass postgres = new PostgresCluster.PerClass();

    @Override
    Database open() throws Exception {
        return postgres.newDatabase();
    }
}
