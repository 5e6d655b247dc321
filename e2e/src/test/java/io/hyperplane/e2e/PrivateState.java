package io.hyperplane.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/** DESIGN §9, state at rest is private: what under a state directory is not 0700 (directories) or 0600 (files). */
final class PrivateState {
    private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateState() {
    }

    static List<String> exposed(Path root) {
        List<String> exposed = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                try {
                    if (Files.isSymbolicLink(p) || Files.isDirectory(p) && p.getFileName().toString().equals("demo-postgres")) {
                        continue;
                    }
                    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(p);
                    if (!mode.equals(Files.isDirectory(p) ? DIRECTORY : FILE)) {
                        exposed.add(p + " " + PosixFilePermissions.toString(mode));
                    }
                } catch (NoSuchFileException gone) {
                    // removed while walking (a rotated snapshot, say)
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return exposed;
    }
}
