package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Database;

import java.util.UUID;

/** The event queue on embedded H2 in memory. */
class EventQueueH2Test extends EventQueueContract {
    @Override
    Database open() {
        return Database.open("jdbc:h2:mem:events-" + UUID.randomUUID(), "sa", "");
    }
}
