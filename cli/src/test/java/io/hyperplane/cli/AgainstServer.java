package io.hyperplane.cli;

import io.hyperplane.control.server.ControlPlaneServer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs a {@code hyperplane} command against a test's server (its endpoint and credentials added) and returns what it printed. */
final class AgainstServer {
    private AgainstServer() {
    }

    static String run(ControlPlaneServer server, String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            String[] all = new String[args.length + 4];
            System.arraycopy(args, 0, all, 0, args.length);
            all[args.length] = "--endpoint";
            all[args.length + 1] = server.endpoint().toString();
            all[args.length + 2] = "--credentials";
            all[args.length + 3] = server.credentialsFile().toString();
            assertThat(Main.run(all)).as("exit code of " + String.join(" ", args)).isZero();
        } finally {
            System.setOut(original);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
