package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Database;

import java.util.UUID;

/** Event invoke configurations on embedded H2 in memory. */
class EventInvokeConfigStoreH2Test extends EventInvokeConfigStoreContract {
    @Override
    Database open() {
        return Database.open("jdbc:h2:mem:event-invoke-" + UUID.randomUUID(), "sa", "");
    }
}
