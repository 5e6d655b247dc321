package io.hyperplane.node;

import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.TestConfigs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --netns}: the node's socket opens inside a named network namespace while the JVM stays in
 * its own. Needs root to make the namespace, which is all it touches: nothing is added to the
 * root namespace, and the namespace is deleted by its exact name however the test ends.
 */
@Timeout(60)
class NetworkNamespaceTest {
    private static final String NAMESPACE = "hp-nodetest-ns";
    private static final int PORT = 47_891; // away from 4789, so the root-namespace check cannot see another test's node

    @TempDir
    Path dir;

    @AfterAll
    static void deleteNamespace() throws IOException, InterruptedException {
        TestNamespace.deleteIfPresent(NAMESPACE);
    }

    private NodeSettings settings() throws IOException {
        Path config = dir.resolve("node.json");
        SnapshotJson.writeAtomically(TestConfigs.snapshot(1), config);
        return new NodeSettings().name("ns1").listen("0.0.0.0:" + PORT).configFile(config).flowCapacity(1024);
    }

    @Test
    void shouldBindTheSocketInsideTheNamespaceAndLeaveTheJvmWhereItWas() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "making a network namespace needs root");
        Path ownNamespace = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"));
        run("ip", "netns", "add", NAMESPACE);
        try {
            try (ForwarderNode node = ForwarderNode.start(settings().netns(NAMESPACE))) {
                assertThat(node.localPort()).isEqualTo(PORT);
                assertThat(run("ip", "netns", "exec", NAMESPACE, "ss", "-Huln", "sport = :" + PORT)).contains(":" + PORT);
                assertThat(run("ss", "-Huln", "sport = :" + PORT)).as("not in the root namespace").doesNotContain(":" + PORT);
                assertThat(Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"))).isEqualTo(ownNamespace);
            }
            assertThat(run("ip", "netns", "exec", NAMESPACE, "ss", "-Huln", "sport = :" + PORT)).as("closed").doesNotContain(":" + PORT);
        } finally {
            run("ip", "netns", "delete", NAMESPACE);
        }
    }

    @Test
    void shouldNameAMissingNamespace() {
        assertThatThrownBy(() -> ForwarderNode.start(settings().netns("hp-nodetest-missing")))
                .hasMessage("netns hp-nodetest-missing: no such namespace (/run/netns/hp-nodetest-missing)");
    }

    private static String run(String... command) throws IOException, InterruptedException {
        return TestNamespace.run(command);
    }
}
