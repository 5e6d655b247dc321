package io.hyperplane.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

class PrivateFilesTest {
    @TempDir
    Path tmp;

    @Test
    void shouldCreateStateDirectoriesPrivateAndMakeOurReadableOnesPrivateAgain() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path root = Files.createDirectory(tmp.resolve("run-root"));
        Path lab = Files.createDirectory(root.resolve("lab"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x")); // as an older version left them
        Files.setPosixFilePermissions(lab, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path state = PrivateFiles.createDirectories(lab.resolve("hp-x-").resolve("deeper"), root);
        for (Path p : new Path[] {state, state.getParent(), lab, root}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString()).isEqualTo("rwx------");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp))).as("nothing above the root is touched")
                .isEqualTo("rwxr-xr-x");
    }
}
