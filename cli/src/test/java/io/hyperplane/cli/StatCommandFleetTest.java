package io.hyperplane.cli;

import io.hyperplane.node.CountersFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Which counters files {@code hyperplane stat} finds, and how it groups several nodes into a fleet. */
@Timeout(30)
class StatCommandFleetTest {
    @TempDir
    Path dir;

    @Test
    void shouldFindEveryLabNodeAndEveryNodeRunWithAStateDirectory() throws Exception {
        Path labs = dir.resolve("lab");
        Path nodes = dir.resolve("state");
        for (Path file : new Path[] {labs.resolve("hp-/node1.counters"), labs.resolve("hp-/node2.counters"), nodes.resolve("up/node/counters"),
                nodes.resolve("up/node2/counters"), nodes.resolve("node-edge/counters"), nodes.resolve("up/worker/counters")}) {
            Files.createDirectories(file.getParent());
            Files.writeString(file, "");
        }

        assertThat(StatCommand.discover(labs, nodes)).containsExactly(labs.resolve("hp-/node1.counters"), labs.resolve("hp-/node2.counters"),
                nodes.resolve("node-edge/counters"), nodes.resolve("up/node/counters"), nodes.resolve("up/node2/counters"));
        assertThat(StatCommand.fleetOf(labs.resolve("hp-/node2.counters"))).isEqualTo(labs.resolve("hp-"));
        assertThat(StatCommand.fleetOf(nodes.resolve("up/node2/counters"))).isEqualTo(nodes.resolve("up"));
    }

    @Test
    void shouldHeadEachNodeByItsNameAndSumAFleetsRunningNodes() throws Exception {
        Path lab = dir.resolve("hp-");
        Path first = lab.resolve("node1.counters");
        Path second = lab.resolve("node2.counters");
        Path alone = dir.resolve("other/node/counters");
        try (CountersFile a = CountersFile.create(first, "node1"); CountersFile b = CountersFile.create(second, "node2");
             CountersFile c = CountersFile.create(alone, "n9")) {
            String printed = stat("--once", first.toString(), second.toString(), alone.toString());

            assertThat(printed).contains("node node1  running, pid " + ProcessHandle.current().pid())
                    .contains("node node2  running").contains("node n9  running")
                    .contains("fleet " + lab + "  2 of 2 nodes running: node1 node2")
                    .doesNotContain("fleet " + dir.resolve("other"));
            assertThat(printed.substring(printed.indexOf("fleet "))).contains("counter (sum)").containsPattern("forwarded +0");
        }
    }

    private static String stat(String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            String[] all = new String[args.length + 1];
            all[0] = "stat";
            System.arraycopy(args, 0, all, 1, args.length);
            assertThat(Main.run(all)).isZero();
        } finally {
            System.setOut(original);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
