package io.hyperplane.lab;

import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.lab.spec.LabSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/** Up, down, and what happens around failures and crashes, on a small lab. */
@Timeout(60)
class LabLifecycleTest {
    private static final String PREFIX = "hp-u-";

    private final List<String> progress = Collections.synchronizedList(new ArrayList<>());
    private final LabSpec spec = TestLabs.small(PREFIX);
    private Path stateRoot;
    private Lab lab;

    @BeforeEach
    void setUp() throws IOException {
        TestLabs.assumeRootWithTools();
        stateRoot = TestLabs.tempStateRoot();
        lab = new Lab(stateRoot.resolve("state"), progress::add);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (lab == null) {
            return; // skipped: not root, or tools missing
        }
        try {
            lab.down();
        } finally {
            TestLabs.removeLeftovers(spec.withNodes(3)); // the fleet test's nodes too
            TestLabs.deleteTree(stateRoot);
        }
        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
    }

    @Test
    void shouldRemoveEveryNamespaceAndTheStateDirAndTreatASecondDownAsANoOp() {
        lab.up(spec, null);
        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).containsExactlyInAnyOrderElementsOf(spec.namespaces());

        lab.down();

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
        assertThat(lab.stateDir()).doesNotExist();
        assertThat(lab.isUp()).isFalse();
        progress.clear();
        lab.down();
        assertThat(progress).containsExactly("lab: nothing to take down (no journal in " + lab.stateDir() + ")");
        assertThatThrownBy(lab::status).isInstanceOf(LabException.class).hasMessageContaining("no lab is up");
    }

    @Test
    void shouldComeUpAgainAfterADown() {
        lab.up(spec, null);
        lab.down();

        LabStatus status = lab.up(spec, null);

        assertThat(status.namespaces()).containsExactlyElementsOf(spec.namespaces());
        assertThat(lab.probe("hp-u-vpc1", "tcp", "10.0.1.10:7", "--send", "again", "--timeout-ms", "3000").get("reply").asText())
                .isEqualTo("again");
    }

    @Test
    void shouldDownCleanlyAfterACrashThatLeftAJournalAheadOfTheNamespaces() throws Exception {
        // What a crash between "journal the name" and "create the namespace" leaves behind.
        Journal journal = Journal.create(lab.stateDir(), PREFIX);
        journal.recordNamespace("hp-u-underlay");
        Namespaces.add("hp-u-underlay");
        journal.recordNamespace("hp-u-node1");

        lab.down();

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
        assertThat(lab.stateDir()).doesNotExist();
    }

    @Test
    void shouldDownCleanlyAfterItsProcessesWereKilledAndANamespaceVanished() throws Exception {
        lab.up(spec, null);
        List<Long> services = Namespaces.pids("hp-u-res1");
        assertThat(services).isNotEmpty();
        services.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        Namespaces.delete("hp-u-ee1");
        Files.writeString(Journal.file(lab.stateDir()), "netns hp-u-never-made\n", StandardOpenOption.APPEND);

        assertThat(lab.status().missingNamespaces()).contains("hp-u-ee1", "hp-u-never-made");
        lab.down();

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
        assertThat(lab.stateDir()).doesNotExist();
    }

    @Test
    void shouldNeverDeleteANamespaceOutsideItsPrefixEvenIfTheJournalSaysSo() throws Exception {
        Journal journal = Journal.create(lab.stateDir(), PREFIX);
        journal.recordNamespace("hp-u-underlay");
        Files.writeString(Journal.file(lab.stateDir()), "netns hp-v-not-ours\nnetns default\n", StandardOpenOption.APPEND);
        Namespaces.add("hp-v-not-ours");
        try {
            lab.down();

            assertThat(Namespaces.list()).contains("hp-v-not-ours");
            assertThat(progress).anyMatch(line -> line.contains("ignoring 'netns hp-v-not-ours'"));
        } finally {
            Namespaces.delete("hp-v-not-ours");
        }
    }

    @Test
    void shouldStartTheNodeWithItsConfigAndWaitUntilItIsReady() throws IOException {
        NodeLauncher fakeNode = new NodeLauncher(List.of("sh", "-c", "echo \"fake node $*\"; echo node ready; exec sleep 60", "fake-node"));

        LabStatus status = lab.up(spec, fakeNode);

        assertThat(status.nodes().getFirst().running()).isTrue();
        String log = Files.readString(lab.stateDir().resolve("node1.log"));
        assertThat(log).contains("fake node --config " + lab.stateDir().resolve("node1.json")
                + " --listen 0.0.0.0:4789 --name node1 --counters " + lab.stateDir().resolve("node1.counters"));
        assertThat(Namespaces.pids("hp-u-node1")).isNotEmpty();
    }

    @Test
    void shouldStartEveryNodeOfAFleetInItsOwnNamespaceAndRemoveThemAllOnDown() throws IOException {
        LabSpec fleet = spec.withNodes(3);
        NodeLauncher fakeNode = new NodeLauncher(List.of("sh", "-c", "echo node ready; exec sleep 60", "fake-node"));

        LabStatus status = lab.up(fleet, fakeNode);

        assertThat(status.nodes()).extracting(LabStatus.NodeStatus::namespace, LabStatus.NodeStatus::underlayIp)
                .containsExactly(tuple("hp-u-node1", "198.18.0.1"), tuple("hp-u-node2", "198.18.0.2"), tuple("hp-u-node3", "198.18.0.3"));
        for (LabStatus.NodeStatus node : status.nodes()) {
            assertThat(node.pid()).as(node.name()).isNotNull();
            assertThat(Namespaces.pids(node.namespace())).as(node.name()).containsExactly(node.pid());
        }
        assertThat(status.toJson()).contains("\"namespace\":\"hp-u-node3\",\"underlayIp\":\"198.18.0.3\"")
                .contains("\"pid\":" + status.nodes().get(2).pid());

        lab.down();

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
        assertThat(status.nodes()).allSatisfy(node -> assertThat(ProcessHandle.of(node.pid())).isEmpty());
    }

    @Test
    void shouldRemoveEveryNodeWhenOneOfAFleetFailsToStart() {
        NodeLauncher secondFails = new NodeLauncher(List.of("sh", "-c",
                "case \"$*\" in *'--name node2 '*) echo 'cannot bind 198.18.0.2:4789' >&2; exit 3;; esac; echo node ready; exec sleep 60", "node"));

        assertThatThrownBy(() -> lab.up(spec.withNodes(3), secondFails))
                .isInstanceOf(LabException.class)
                .hasMessageContaining("node node2 exited with code 3 before it was ready")
                .hasMessageContaining("cannot bind 198.18.0.2:4789");

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
        assertThat(lab.stateDir()).doesNotExist();
    }

    @Test
    void shouldRemoveWhatItMadeAndShowTheLogWhenTheNodeFailsToStart() {
        NodeLauncher brokenNode = new NodeLauncher(List.of("sh", "-c", "echo 'cannot bind 198.18.0.1:4789' >&2; exit 3", "node"));

        assertThatThrownBy(() -> lab.up(spec, brokenNode))
                .isInstanceOf(LabException.class)
                .hasMessageContaining("lab up failed: node node1 exited with code 3 before it was ready")
                .hasMessageContaining("cannot bind 198.18.0.1:4789");

        assertThat(TestLabs.labNamespacesOnMachine(PREFIX)).isEmpty();
        assertThat(lab.stateDir()).doesNotExist();
        assertThat(progress).contains("lab: up failed, removing what it made");
    }

    @Test
    void shouldRefuseAStateDirectoryHoldingSomeoneElsesFiles() throws IOException {
        Files.createDirectories(lab.stateDir());
        Files.writeString(lab.stateDir().resolve("precious.txt"), "keep me");
        Files.writeString(lab.stateDir().resolve("server.log"), "a log the lab did not write either");

        assertThatThrownBy(() -> lab.up(spec, null))
                .isInstanceOf(LabException.class)
                .hasMessageContaining("which the lab did not write");
        lab.down();

        assertThat(lab.stateDir().resolve("precious.txt")).exists();
        assertThat(lab.stateDir().resolve("server.log")).exists();
    }

    @Test
    void shouldRejectAPrefixThatCouldEscapeTheStateRoot() {
        assertThatThrownBy(() -> Lab.defaultStateDir("../../etc"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("prefix '../../etc'");
        assertThat(Lab.defaultStateDir("hp-")).isEqualTo(Path.of("/run/hyperplane/lab/hp-"));
    }
}
