package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.PostgresCluster;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The event queue on PostgreSQL: a private cluster for the class, a new database per test. */
class EventQueuePostgresTest extends EventQueueContract {
    @RegisterExtension
    static final PostgresCluster.PerClass postgres = new PostgresCluster.PerClass();

    @Override
    Database open() throws Exception {
        return postgres.newDatabase();
    }
}
