package io.hyperplane.linux.netns;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

/** A lab's journal names the namespaces it made: only its owner may read it, whatever the umask of the process that made it. */
class JournalTest {
    @TempDir
    Path tmp;

    @Test
    void shouldCreateTheJournalReadableByItsOwnerOnly() throws Exception {
        Journal journal = Journal.create(tmp.resolve("hp-j-"), "hp-j-"); // this JVM runs with the default umask (022)
        journal.recordNamespace("hp-j-underlay");

        Path file = Journal.file(tmp.resolve("hp-j-"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Journal.read(tmp.resolve("hp-j-"), w -> { }).namespaces()).containsExactly("hp-j-underlay");
    }

    @Test
    void shouldMakeAReadableJournalLeftByAnOlderVersionPrivateWhenReopened() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("hp-k-"));
        Path file = Files.writeString(Journal.file(dir), "prefix hp-k-\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

        Journal.openOrCreate(dir, "hp-k-");

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    }
}
