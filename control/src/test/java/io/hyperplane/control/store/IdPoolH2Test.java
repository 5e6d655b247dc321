package io.hyperplane.control.store;

import java.util.UUID;

/** The pools on embedded H2 in memory: cheap enough for a million create/delete cycles (about 15 µs each). */
class IdPoolH2Test extends IdPoolContract {
    @Override
    Database open() {
        return Database.open("jdbc:h2:mem:idpool-" + UUID.randomUUID(), "sa", "");
    }

    @Override
    int cyclesPerPool() {
        return 200_000;
    }
}
