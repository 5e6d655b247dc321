package io.hyperplane.control.fleet;

import io.hyperplane.control.store.Database;

import java.util.UUID;

/** The fleet's plan on embedded H2 in memory. */
class FleetPlannerH2Test extends FleetPlannerContract {
    @Override
    Database open() {
        return Database.open("jdbc:h2:mem:fleet-" + UUID.randomUUID(), "sa", "");
    }
}
