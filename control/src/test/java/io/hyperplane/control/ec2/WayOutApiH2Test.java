package io.hyperplane.control.ec2;

import io.hyperplane.control.server.ControlPlaneServer;

import java.nio.file.Path;

/** The way out on the default store: embedded H2 in the data directory. */
class WayOutApiH2Test extends WayOutApiContract {
    @Override
    ControlPlaneServer.Settings settings(Path dataDir) {
        return new ControlPlaneServer.Settings(dataDir, "127.0.0.1", 0, null, null, null);
    }
}
