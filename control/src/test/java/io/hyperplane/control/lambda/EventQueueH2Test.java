package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Database;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The event queue on embedded H2 as the server opens it: a file in the data directory, each commit written before it returns. */
class EventQueueH2Test extends EventQueueContract {
    @TempDir
    Path dataDir;

    @Override
    Database open() {
        return Database.embedded(dataDir);
    }
}
