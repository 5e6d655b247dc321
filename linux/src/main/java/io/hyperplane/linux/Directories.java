package io.hyperplane.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing a directory tree the project made (a run's store, logs, state). */
public final class Directories {
    private Directories() {
    }

    /**
     * Deletes {@code dir} and everything in it, deepest first; nothing when it does not exist.
     * Symbolic links are removed, never followed.
     */
    public static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
