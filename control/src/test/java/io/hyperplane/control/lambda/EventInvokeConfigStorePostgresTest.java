package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.PostgresCluster;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Event invoke configurations on PostgreSQL: a private cluster for the class, a new database per test. */
class EventInvokeConfigStorePostgresTest extends EventInvokeConfigStoreContract {
    @RegisterExtension
    static final PostgresCluster.PerClass postgres = new PostgresCluster.PerClass();

    @Override
    Database open() throws Exception {
        return postgres.newDatabase();
    }
}
