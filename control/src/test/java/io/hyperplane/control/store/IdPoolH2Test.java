package io.hyperplane.control.store;

import java.util.UUID;

/** The pools on embedded H2 in memory: cheap enough for millions of create/delete cycles (about 10-15 µs each): 500,000 per pool, 2.5 million in all. */
class IdPoolH2Test extends IdPoolContract {
    @Override
    Database open() {
        return Database.open("jdbc:h2:mem:idpool-" + UUID.randomUUID(), "sa", "");
    }

    @Override
    int cyclesPerPool() {
        return 500_000;
    }
}
